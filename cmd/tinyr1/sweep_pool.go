package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"tinyr1/rl/sweep"
)

// This file runs a sweep's jobs as child processes: a pool that starts a
// job when the jobs it waits for are done, at most --jobs at a time; a lock
// per job so that two sweeps of the same folder never run the same job;
// and signals (Ctrl-C, SIGTERM) forwarded to every child, which writes a
// checkpoint and exits 130, so that a rerun resumes where they stopped.

// jobLock is a job's lock file under OUT/locks, held (flock) by the
// process that checks and runs the job.
type jobLock struct{ f *os.File }

// lockJob takes job j's lock without waiting; a held lock is an error
// naming the process that holds it.
func lockJob(p *sweep.Plan, j *sweep.Job) (*jobLock, error) {
	dir := filepath.Join(p.Out, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, strings.TrimSuffix(j.LogName(), ".log")+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := io.ReadAll(f)
		f.Close()
		return nil, fmt.Errorf("sweep: job %s is running in another sweep (lock %s held by process %s): want one sweep per job; rerun when it ends",
			j.Name, path, strings.TrimSpace(string(pid)))
	}
	f.Truncate(0)
	f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	return &jobLock{f}, nil
}

// unlock releases the lock; the file stays (removing it would race with
// a process that opened it to wait).
func (l *jobLock) unlock() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// childAttr puts a child in its own process group, so that a terminal's
// Ctrl-C reaches the sweep alone (which forwards it once), and has the
// kernel send it SIGTERM if the sweep dies without forwarding.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// childEnv is the sweep's environment without the variables of the
// commands a job runs (TINYR1_SFT_*, TINYR1_TRAIN_*, TINYR1_EVAL_*): a job's
// settings are its command line, and nothing else may change its run.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		skip := false
		for _, cmd := range []string{"sft", "train", "eval"} {
			skip = skip || strings.HasPrefix(kv, envPrefix([]string{cmd}))
		}
		if !skip {
			env = append(env, kv)
		}
	}
	return env
}

// runForwarding runs cmd, forwarding SIGINT and SIGTERM to it as SIGTERM,
// and returns its exit status.
func runForwarding(cmd *exec.Cmd) (int, error) {
	cmd.SysProcAttr = childAttr()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigs:
				cmd.Process.Signal(syscall.SIGTERM)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, err
}

// poolJob is a job's state in the pool.
type poolJob struct {
	job    *sweep.Job
	state  string // waiting, running, done, failed, blocked
	cmd    *exec.Cmd
	lock   *jobLock
	log    *os.File
	start  time.Time
	reason string // why it is blocked: "waits for NAME", a failed or blocked job
}

// finished is a child's exit, reported to the pool's loop.
type finished struct {
	i    int
	code int
	err  error
}

func sweepRunAction(c *cli.Context) error {
	p, file, err := loadPlan(c)
	if err != nil {
		return err
	}
	n := c.Int(sweepJobsFlag.Name)
	if n < 0 {
		return usageError("sweep run: --jobs %d: want 1 or more, or 0 for the cores divided by the jobs' threads", n)
	}
	if n == 0 {
		threads := 1
		for _, j := range p.Jobs {
			threads = max(threads, p.Threads(j))
		}
		n = max(1, runtime.NumCPU()/threads)
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	logs := filepath.Join(p.Out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	w := c.App.ErrWriter
	fmt.Fprintf(w, "sweep %s: %d jobs, %d at a time; logs in %s\n", file, len(p.Jobs), n, logs)
	jobs := make([]*poolJob, len(p.Jobs))
	for i, j := range p.Jobs {
		jobs[i] = &poolJob{job: j, state: "waiting"}
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	exits := make(chan finished)
	running, stopping := 0, false
	counts := func() string {
		k := map[string]int{}
		for _, pj := range jobs {
			k[pj.state]++
		}
		s := fmt.Sprintf("[%d/%d done, %d running, %d waiting", k["done"], len(jobs), k["running"], k["waiting"])
		if k["failed"]+k["blocked"] > 0 {
			s += fmt.Sprintf(", %d failed, %d blocked", k["failed"], k["blocked"])
		}
		return s + "]"
	}
	say := func(format string, args ...any) {
		fmt.Fprintf(w, "sweep %s %s\n", counts(), fmt.Sprintf(format, args...))
	}
	fail := func(pj *poolJob, reason string) {
		pj.state = "failed"
		say("%s failed: %s", pj.job.Name, reason)
	}
	for {
		// Block the jobs whose dependencies failed, and start the ready ones.
		for !stopping && running < n {
			started := false
			for _, pj := range jobs {
				if pj.state != "waiting" {
					continue
				}
				ready := true
				for _, d := range pj.job.Deps {
					switch jobs[d].state {
					case "failed", "blocked":
						pj.state, pj.reason = "blocked", "waits for "+jobs[d].job.Name
						ready = false
					case "done":
					default:
						ready = false
					}
					if pj.state == "blocked" {
						break
					}
				}
				if !ready || pj.state != "waiting" {
					continue
				}
				if err := startJob(p, pj, bin, logs, exits, say); err != nil {
					fail(pj, err.Error())
				} else if pj.state == "running" {
					running++
				}
				started = true
				break
			}
			if !started {
				break
			}
		}
		if running == 0 {
			break
		}
		select {
		case f := <-exits:
			pj := jobs[f.i]
			running--
			pj.log.Close()
			pj.lock.unlock()
			secs := time.Since(pj.start).Seconds()
			switch {
			case f.err != nil:
				fail(pj, f.err.Error())
			case f.code == 0:
				pj.state = "done"
				say("%s done in %.1f s", pj.job.Name, secs)
			case f.code == 130 && stopping:
				pj.state = "waiting"
				say("%s stopped after %.1f s (its checkpoint resumes it)", pj.job.Name, secs)
			default:
				fail(pj, fmt.Sprintf("exit status %d after %.1f s: %s (log %s)", f.code, secs, lastLine(pj.log.Name()), pj.log.Name()))
			}
		case s := <-sigs:
			if !stopping {
				stopping = true
				fmt.Fprintf(w, "sweep: %v: stopping %d running jobs (each writes a checkpoint); no new job starts\n", s, running)
			}
			for _, pj := range jobs {
				if pj.state == "running" {
					pj.cmd.Process.Signal(syscall.SIGTERM)
				}
			}
		}
	}
	if stopping {
		return &interruptedErr{fmt.Sprintf("sweep %s: interrupted %s; rerun 'tinyr1 sweep run %s' to continue", file, counts(), file)}
	}
	var bad []string
	for _, pj := range jobs {
		switch pj.state {
		case "failed":
			bad = append(bad, pj.job.Name+" (failed)")
		case "blocked":
			bad = append(bad, pj.job.Name+" (blocked: "+pj.reason+")")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("sweep %s: %d of %d jobs not done: %s; logs in %s", file, len(bad), len(jobs), strings.Join(bad, ", "), logs)
	}
	say("all jobs done under %s", p.Out)
	return nil
}

// startJob takes a ready job's lock and checks it: a finished one is done
// at once; otherwise its command starts, its output going to its log.
func startJob(p *sweep.Plan, pj *poolJob, bin, logs string, exits chan<- finished, say func(string, ...any)) error {
	j := pj.job
	lock, err := lockJob(p, j)
	if err != nil {
		return err
	}
	a, err := p.Check(j)
	if err != nil {
		lock.unlock()
		return err
	}
	if a.State == sweep.Done {
		lock.unlock()
		pj.state = "done"
		if j.Eval != nil {
			say("%s finished already (%s evaluates step %d): skipped", j.Name, j.EvalFile(), a.Step)
		} else {
			say("%s finished already (run id %s, step %d): skipped", j.Name, a.RunID, a.Step)
		}
		return nil
	}
	log, err := os.OpenFile(filepath.Join(logs, j.LogName()), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		lock.unlock()
		return err
	}
	line := "tinyr1 " + sweep.ShellLine(a.Args)
	fmt.Fprintf(log, "$ %s\n", line)
	cmd := exec.Command(bin, a.Args...)
	cmd.Stdout, cmd.Stderr, cmd.SysProcAttr, cmd.Env = log, log, childAttr(), childEnv()
	if err := cmd.Start(); err != nil {
		log.Close()
		lock.unlock()
		return err
	}
	pj.state, pj.cmd, pj.lock, pj.log, pj.start = "running", cmd, lock, log, time.Now()
	say("%s %s: %s", j.Name, a.State, line)
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code, err = ee.ExitCode(), nil
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		exits <- finished{j.Index, code, err}
	}()
	return nil
}

// lastLine returns the last non-empty line of a log, for a failure's message.
func lastLine(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	return last
}

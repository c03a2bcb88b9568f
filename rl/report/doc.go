// Package report turns run folders and eval files into plots and summary
// tables: it reads metrics.jsonl, manifest.json, config.json and eval/*.json
// as written by the trainer (rl/train) and `tinyr1 eval` (rl/eval), groups
// runs that differ only in their seed, and writes PNG/SVG plots (gonum/plot),
// a markdown summary and a CSV of the eval tables.
package report

package main

import (
	"github.com/urfave/cli/v2"
)

// Flag categories shown by --help.
const (
	catData   = "Data"
	catOutput = "Output"
)

// env names a flag's environment variable: TINYR1_<NAME>.
func env(name string) []string { return []string{"TINYR1_" + name} }

// Flags shared by several commands are declared once here.
var (
	familyFlag = &cli.StringFlag{Name: "family", Aliases: []string{"f"}, Category: catData, EnvVars: env("FAMILY"),
		Usage: "task family (see 'tinyr1 tasks list')", Value: "add"}
	levelFlag = &cli.IntFlag{Name: "level", Aliases: []string{"l"}, Category: catData, EnvVars: env("LEVEL"),
		Usage: "difficulty level 1-5 (5 is out-of-distribution)", Value: 1}
	splitFlag = &cli.StringFlag{Name: "split", Category: catData, EnvVars: env("SPLIT"),
		Usage: "data split: train, validation or test", Value: "train"}
	countFlag = &cli.IntFlag{Name: "n", Category: catData, EnvVars: env("N"),
		Usage: "number of problems", Value: 5}
	seedFlag = &cli.Uint64Flag{Name: "seed", Category: catData, EnvVars: env("SEED"),
		Usage: "seed of the problem stream", Value: 0}
	inFlag = &cli.StringFlag{Name: "in", Category: catData, EnvVars: env("IN"),
		Usage: "input file of JSON lines; - or empty reads standard input", Value: "-"}
	jsonFlag = &cli.BoolFlag{Name: "json", Category: catOutput, EnvVars: env("JSON"),
		Usage: "write JSON instead of text", Value: false}
)

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/widget"
)

// defaultConfigFile is read when --config is not given and it exists.
const defaultConfigFile = "frontdesk.yaml"

// newFlags returns a flag set that prints its usage to stderr and does not
// exit the process.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: frontdesk %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns the exit code to use when the command
// should stop (help asked, bad flags), or -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	return -1
}

// loadConfig reads path, or the default file, or the embedded demo config.
func loadConfig(path string) (*config.Config, []config.Problem, error) {
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
		}
	}
	if path == "" {
		cfg, err := config.Default()
		return cfg, nil, err
	}
	return config.Load(path)
}

// printProblems writes each problem as file:line: message.
func printProblems(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, p := range errs {
			fmt.Fprintln(w, p.String())
		}
		return
	}
	fmt.Fprintln(w, err)
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "check [--config FILE]", stderr)
	path := fs.String("config", "", "config file (default ./frontdesk.yaml, else the embedded demo config)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	cfg, warnings, err := loadConfig(*path)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w.String())
	}
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	name := cfg.Source
	if name == "" {
		name = "embedded demo config"
	}
	// The certificate is read as serve reads it: a pair that would stop
	// the gateway from starting fails the check.
	if _, err := loadCert(cfg.HTTP, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if _, _, err := loadAdminTLS(cfg.Admin, slog.New(slog.DiscardHandler)); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	agents := 0
	for _, w := range cfg.Widgets {
		agents += len(w.Agents)
	}
	fmt.Fprintf(stdout, "%s: ok (%d widgets, %d agents)\n", name, len(cfg.Widgets), agents)
	return 0
}

func cmdSnippet(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("snippet", "snippet [--config FILE] WIDGET-ID", stderr)
	path := fs.String("config", "", "config file (default ./frontdesk.yaml, else the embedded demo config)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	cfg, _, err := loadConfig(*path)
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	w := cfg.Widget(fs.Arg(0))
	if w == nil {
		fmt.Fprintf(stderr, "frontdesk: no widget %q in the config; known widgets:\n", fs.Arg(0))
		for _, w := range cfg.Widgets {
			fmt.Fprintf(stderr, "  %s  %s (%s)\n", w.ID, w.Name, w.Type)
		}
		return 1
	}
	fmt.Fprint(stdout, widget.Snippet(w, cfg.HTTP.PublicURL))
	return 0
}

func cmdNew(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("new", "new [sidebar|cards] (or --type sidebar|cards)", stderr)
	typ := fs.String("type", "", "widget type: sidebar (default) or cards")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	// The type may also be the one argument: "frontdesk new cards".
	kind := *typ
	switch {
	case fs.NArg() > 1 || (fs.NArg() == 1 && kind != "" && kind != fs.Arg(0)):
		fs.Usage()
		return 2
	case fs.NArg() == 1:
		kind = fs.Arg(0)
	case kind == "":
		kind = string(config.WidgetSidebar)
	}
	t := config.WidgetType(kind)
	if t != config.WidgetSidebar && t != config.WidgetCards {
		fmt.Fprintf(stderr, "frontdesk new: the widget type must be sidebar or cards, not %q\n", kind)
		return 2
	}
	fmt.Fprint(stdout, config.NewWidgetYAML(t))
	return 0
}

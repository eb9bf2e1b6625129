// Command frontdesk is the Frontdesk gateway: website contact widgets in front
// of a SIP PBX. See `frontdesk --help`.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `frontdesk — website contact widgets in front of any SIP PBX

Usage:
  frontdesk serve   [--config FILE] [--sip-trace] [--log-level LEVEL] [--log-format text|json]
  frontdesk check   [--config FILE]
  frontdesk doctor  [--config FILE] [--test-agent SIP] [--test-extension SIP] [--trace FILE]
  frontdesk snippet [--config FILE] WIDGET-ID
  frontdesk new     [sidebar|cards]
  frontdesk version

Commands:
  serve    run the gateway: register to the PBX, watch agents' presence, serve widgets;
           the config file is reloaded when it changes
  check    validate a config file; prints file:line: problem for each problem and
           exits 1 if there is any
  doctor   check the configured PBX step by step (DNS, REGISTER, each agent's
           SUBSCRIBEs, a test MESSAGE and call to those who agreed) with the SIP
           trace kept in a file; exits 1 if a check failed. It registers with a
           Contact of its own, so a running gateway is not disturbed
  snippet  print the HTML a website pastes to embed a widget
  new      print a config stanza for a new widget with a fresh id
  version  print the version

Without --config, frontdesk reads ./frontdesk.yaml if it exists, else its embedded
demo config (the test bed of 'make demo'). Run 'frontdesk COMMAND --help' for a
command's flags.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "doctor":
		return cmdDoctor(args[1:], stdout, stderr)
	case "snippet":
		return cmdSnippet(args[1:], stdout, stderr)
	case "new":
		return cmdNew(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "frontdesk", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "frontdesk: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

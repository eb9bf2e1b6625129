package config

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// NewWidgetYAML returns a commented YAML stanza for a new widget of type t
// (sidebar when t is unknown) with a fresh id. It is indented to be pasted
// as an item of a top-level "widgets:" list.
func NewWidgetYAML(t WidgetType) string {
	if t != WidgetCards {
		t = WidgetSidebar
	}
	id := strings.ReplaceAll(uuid.NewString(), "-", "")
	extra := ""
	if t == WidgetSidebar {
		extra = `    style:
      position: right        # page edge: right or left
    always_show: false       # true: also show agents who are not available
    # teasers:
    #   en: ["Questions? We are here."]
`
	}
	return fmt.Sprintf(`  # A new %[1]s widget. Paste under "widgets:"; embed it with its id.
  - id: %[2]s
    type: %[1]s
    name: Contact              # display name
    lang: en                   # default language (two-letter code)
    # allowed_origins: [https://www.example.com]   # default: http.allowed_origins
%[3]s    agents:
      - sip: alice             # sip:user@domain, user@domain or user
        name: Alice            # display name (default: the user part)
        # department: Sales
        # email: alice@example.com
        media: [voice, chat]   # voice, video, chat, email
        mode: presence         # presence, always, boolean or inactive
`, t, id, extra)
}

package config

import (
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded demo config's text.
func DefaultYAML() []byte {
	return append([]byte(nil), defaultYAML...)
}

// Default parses the embedded demo config: a gateway registering to a PBX on
// 127.0.0.1:15060 as frontdesk@frontdesk.test, with a sidebar and a
// business-cards widget. Its inline password warning is dropped; the demo
// password is not a secret.
func Default() (*Config, error) {
	c, _, err := Parse("default.yaml", defaultYAML, "")
	if err != nil {
		return nil, fmt.Errorf("embedded default config: %w", err)
	}
	c.Source = ""
	return c, nil
}

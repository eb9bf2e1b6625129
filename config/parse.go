package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes bounds the size of a config file.
const MaxFileBytes = 4 << 20

// errTooLarge is returned by readBounded for a file over its limit.
var errTooLarge = errors.New("file is larger than allowed")

// Load reads and parses the config file at path. Relative file names in it
// (pictures, password and TLS files) are resolved against path's directory.
// Problems are reported with path as the file name. An unreadable file is a
// plain error; an invalid one is an Errors.
func Load(path string) (*Config, []Problem, error) {
	data, err := readBounded(path, MaxFileBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse decodes and validates one config document. name is used in problem
// messages and as Config.Source; baseDir resolves relative file names.
// It returns the config and its warnings, or Errors listing every problem.
func Parse(name string, data []byte, baseDir string) (*Config, []Problem, error) {
	if len(data) > MaxFileBytes {
		return nil, nil, Errors{{File: name, Msg: fmt.Sprintf("the file is %d bytes; at most %d are allowed", len(data), MaxFileBytes)}}
	}
	root, prob := parseNode(data)
	if prob != nil {
		prob.File = name
		return nil, nil, Errors{*prob}
	}
	p := newProblems(name)
	var c Config
	if root != nil {
		d := decoder{p: p}
		d.decode(root, reflect.ValueOf(&c).Elem(), "")
	}
	v := validator{p: p, baseDir: baseDir, pictures: map[string]picture{}}
	v.config(&c)
	errs, warns := p.result()
	if len(errs) > 0 {
		return nil, warns, errs
	}
	c.Source = name
	c.digest = sha256.Sum256(data)
	return &c, warns, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseNode parses data into a node tree. An empty document gives nil.
func parseNode(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Problem{Line: extra.Line, Msg: "only one YAML document is allowed; remove the second one (after ---)"}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxProblem(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func syntaxProblem(err error) *Problem {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Problem{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return &Problem{Msg: "invalid YAML: " + err.Error()}
}

// readBounded reads a whole file, refusing files larger than limit.
func readBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, errTooLarge, limit)
	}
	return data, nil
}

// resolvePath makes a file name from the config relative to baseDir.
func resolvePath(baseDir, name string) string {
	if filepath.IsAbs(name) || baseDir == "" {
		return name
	}
	return filepath.Join(baseDir, name)
}

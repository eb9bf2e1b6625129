package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDecodeSteps bounds the work of decoding one file, so that aliases
// referring to aliases cannot expand into an enormous document.
const maxDecodeSteps = 1 << 20

var (
	durationType     = reflect.TypeFor[time.Duration]()
	rateType         = reflect.TypeFor[Rate]()
	resourceListType = reflect.TypeFor[ResourceList]()
)

// decoder fills a Config from a yaml.Node tree. It does what yaml.v3's
// KnownFields(true) does, but keeps going after a problem and names every
// problem by key path and line, and records the line of every key it sees.
type decoder struct {
	p     *problems
	steps int
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.steps++
	if d.steps > maxDecodeSteps {
		if d.steps == maxDecodeSteps+1 {
			d.p.decodeErr(n.Line, path, "the document is too large to decode (too many aliases?)")
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.p.decodeErr(n.Line, path, "unknown alias")
			return
		}
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty value keeps the zero value, so the default applies
	}
	switch {
	case v.Type() == durationType:
		d.duration(n, v, path)
	case v.Type() == rateType:
		d.rate(n, v, path)
	case v.Type() == resourceListType && n.Kind == yaml.ScalarNode:
		// one list for both event packages
		v.Set(reflect.ValueOf(ResourceList{Presence: n.Value, Dialog: n.Value}))
	case v.Kind() == reflect.Struct:
		d.structure(n, v, path)
	case v.Kind() == reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), path)
		v.Set(elem)
	case v.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	case v.Kind() == reflect.Map:
		d.mapping(n, v, path)
	case v.Kind() == reflect.String:
		if d.expect(n, yaml.ScalarNode, path) {
			v.SetString(n.Value)
		}
	case v.Kind() == reflect.Int:
		d.integer(n, v, path)
	case v.Kind() == reflect.Bool:
		d.boolean(n, v, path)
	default:
		d.p.decodeErr(n.Line, path, "cannot be decoded into %s", v.Type())
	}
}

// expect reports whether n is of kind want, and records a problem if not.
func (d *decoder) expect(n *yaml.Node, want yaml.Kind, path string) bool {
	if n.Kind == want {
		return true
	}
	d.p.decodeErr(n.Line, path, "expected %s, got %s", kindName(want), kindName(n.Kind))
	return false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	default:
		return "something else"
	}
}

// fields maps the yaml names of t's exported, tagged fields to their index.
func fields(t reflect.Type) (map[string]int, []string) {
	byName := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		byName[name] = i
		names = append(names, name)
	}
	return byName, names
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.MappingNode, path) {
		return
	}
	byName, names := fields(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.key(k, path, seen) {
			continue
		}
		idx, ok := byName[k.Value]
		if !ok {
			msg := "unknown key " + strconv.Quote(k.Value)
			if s := suggest(k.Value, names); s != "" {
				msg += " (did you mean " + s + "?)"
			}
			d.p.errAt(k.Line, path, "%s", msg)
			continue
		}
		fp := joinPath(path, k.Value)
		d.p.lines[fp] = k.Line
		d.decode(val, v.Field(idx), fp)
	}
}

// key checks a mapping key: a plain value, not a merge, not seen before.
func (d *decoder) key(k *yaml.Node, path string, seen map[string]int) bool {
	if k.Kind != yaml.ScalarNode {
		d.p.errAt(k.Line, path, "a key must be a single value, not %s", kindName(k.Kind))
		return false
	}
	if k.ShortTag() == "!!merge" {
		d.p.errAt(k.Line, path, "merge keys (<<) are not supported; repeat the keys or use an alias for the whole value")
		return false
	}
	if first, dup := seen[k.Value]; dup {
		d.p.errAt(k.Line, path, "key %q appears twice (first on line %d)", k.Value, first)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.SequenceNode, path) {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ip := indexPath(path, i)
		d.p.lines[ip] = item.Line
		d.decode(item, s.Index(i), ip)
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.MappingNode, path) {
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.p.decodeErr(n.Line, path, "cannot be decoded into %s", v.Type())
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.key(k, path, seen) {
			continue
		}
		kp := joinPath(path, k.Value)
		d.p.lines[kp] = k.Line
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, kp)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(m)
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.ScalarNode, path) {
		return
	}
	if n.ShortTag() != "!!int" {
		d.p.decodeErr(n.Line, path, "%q is not a whole number", n.Value)
		return
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil || v.OverflowInt(i) {
		d.p.decodeErr(n.Line, path, "%s is not a whole number in range", n.Value)
		return
	}
	v.SetInt(i)
}

func (d *decoder) boolean(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.ScalarNode, path) {
		return
	}
	b, err := strconv.ParseBool(n.Value)
	if n.ShortTag() != "!!bool" || err != nil {
		d.p.decodeErr(n.Line, path, "%q is not true or false", n.Value)
		return
	}
	v.SetBool(b)
}

// duration accepts Go duration syntax ("30s", "1h30m") and a plain number
// of seconds (3600 or "3600").
func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.ScalarNode, path) {
		return
	}
	s := strings.TrimSpace(n.Value)
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs > int64(1<<63-1)/int64(time.Second) || secs < -int64(1<<63-1)/int64(time.Second) {
			d.p.decodeErr(n.Line, path, "%s seconds is too long", s)
			return
		}
		v.SetInt(secs * int64(time.Second))
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.p.decodeErr(n.Line, path, "%q is not a duration; use a number of seconds or Go syntax such as 30s, 10m or 1h", n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// rate accepts "3/min", "20/10m" or "off" (see ParseRate).
func (d *decoder) rate(n *yaml.Node, v reflect.Value, path string) {
	if !d.expect(n, yaml.ScalarNode, path) {
		return
	}
	r, err := ParseRate(n.Value)
	if err != nil {
		d.p.decodeErr(n.Line, path, "%s", err)
		return
	}
	v.Set(reflect.ValueOf(r))
}

// suggest returns the name closest to key when it is a plausible typo.
func suggest(key string, names []string) string {
	best, bestDist := "", 3
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), name); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Package yamlx decodes YAML strictly and reports errors as file:line: key:
// message, for the knowledge base and the scenario files alike.
package yamlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error names the file, the line and the key of a problem.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Doc is a parsed file, kept for locating keys.
type Doc struct {
	File string
	root *yaml.Node
}

// Decode parses src into v, refusing unknown keys, and returns the Doc.
func Decode(file string, src []byte, v any) (*Doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Msg: "file is empty"}
		}
		var n yaml.Node
		_ = yaml.Unmarshal(src, &n)
		return nil, convert(file, err, &n)
	}
	var n yaml.Node
	_ = yaml.Unmarshal(src, &n)
	return &Doc{File: file, root: &n}, nil
}

// wrongType matches yaml.v3's "cannot unmarshal !!str `fast` into float64".
var wrongType = regexp.MustCompile("^cannot unmarshal !!\\w+ `(.*)` into (\\S+)$")

// typeWords says what a Go type wants, in a scenario writer's words.
var typeWords = map[string]string{"float64": "a number", "float32": "a number", "int": "a whole number", "int64": "a whole number", "bool": "true or false", "string": "text"}

// keyAt finds the dotted key of the scalar value on line whose text is val.
func keyAt(n *yaml.Node, line int, val string, path []string) string {
	if n == nil {
		return ""
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = append(append([]string(nil), path...), fmt.Sprintf("[%d]", i))
			}
			if k := keyAt(c, line, val, p); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := append(append([]string(nil), path...), n.Content[i].Value)
			if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && v.Line == line && v.Value == val {
				return strings.ReplaceAll(strings.Join(p, "."), ".[", "[")
			}
			if k := keyAt(n.Content[i+1], line, val, p); k != "" {
				return k
			}
		}
	}
	return ""
}

// convert rewrites yaml.v3's "line N: ..." messages into an Error; root
// (the file as nodes) names the key of a value of the wrong type.
func convert(file string, err error, root *yaml.Node) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	line := 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	key := ""
	if strings.HasPrefix(msg, "field ") {
		key = strings.Fields(msg)[1]
		msg = "unknown key"
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		want := typeWords[m[2]]
		if want == "" {
			want = "a " + m[2]
		}
		key, msg = keyAt(root, line, m[1], nil), fmt.Sprintf("%q is not %s", m[1], want)
	}
	return &Error{File: file, Line: line, Key: key, Msg: msg}
}

// ErrAt builds an Error at the node reached by path (string keys, int indexes).
func (d *Doc) ErrAt(msg string, path ...any) error {
	line, key := d.Locate(path...)
	return &Error{File: d.File, Line: line, Key: key, Msg: msg}
}

// Locate returns the line of the node reached by path, and the dotted key.
func (d *Doc) Locate(path ...any) (int, string) {
	n := d.root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 1
	var keys []string
	for _, p := range path {
		if n == nil {
			break
		}
		line = n.Line
		switch k := p.(type) {
		case string:
			keys = append(keys, k)
			var next *yaml.Node
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
			n = next
		case int:
			keys = append(keys, fmt.Sprintf("[%d]", k))
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				n = n.Content[k]
				line = n.Line
			} else {
				n = nil
			}
		}
	}
	return line, strings.ReplaceAll(strings.Join(keys, "."), ".[", "[")
}

// Has reports whether the key path is present in the file.
func (d *Doc) Has(path ...any) bool {
	n := d.root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		k, ok := p.(string)
		if n == nil || n.Kind != yaml.MappingNode || !ok {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n != nil
}

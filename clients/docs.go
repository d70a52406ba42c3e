package clients

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed guide.md.tmpl
var guideTemplate string

//go:embed index.md.tmpl
var indexText string

var funcs = template.FuncMap{"join": strings.Join, "cell": cell, "expect": describeExpect}

var (
	docTemplate = template.Must(template.New("guide").Funcs(funcs).Parse(guideTemplate))
	guideIndex  = template.Must(template.New("index").Funcs(funcs).Parse(indexText))
)

// Markdown renders r as the guide in docs/clients.
func Markdown(r Rendered) ([]byte, error) {
	var b bytes.Buffer
	if err := docTemplate.Execute(&b, r); err != nil {
		return nil, fmt.Errorf("guide %s: %w", r.Name, err)
	}
	return b.Bytes(), nil
}

// Index renders the list of guides, docs/clients/README.md.
func Index(guides []Rendered) ([]byte, error) {
	var b bytes.Buffer
	if err := guideIndex.Execute(&b, guides); err != nil {
		return nil, fmt.Errorf("guide index: %w", err)
	}
	return b.Bytes(), nil
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// describeExpect says in words what a search must return.
func describeExpect(s Search) string {
	e := s.Expect
	if s.Filter == "" {
		return "the bind succeeds"
	}
	var parts []string
	switch {
	case e.Exact && len(e.DNs) == 0:
		parts = append(parts, "no entries, and no error")
	case e.Exact:
		parts = append(parts, "exactly "+quoteList(e.DNs))
	case len(e.DNs) > 0:
		parts = append(parts, quoteList(e.DNs)+" among the entries")
	}
	if e.Min > 0 {
		parts = append(parts, fmt.Sprintf("at least %d entr%s", e.Min, map[bool]string{true: "y", false: "ies"}[e.Min == 1]))
	}
	if len(e.Present) > 0 {
		parts = append(parts, "with "+strings.Join(e.Present, ", "))
	}
	for _, k := range sortedKeys(e.Values) {
		parts = append(parts, k+" "+quoteList(e.Values[k]))
	}
	if e.Spelling {
		parts = append(parts, "attribute names spelled as asked")
	}
	return cell(strings.Join(parts, "; "))
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		if s == "" {
			s = "(root DSE)"
		}
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}

package ldapserver

import (
	"strings"
	"sync"
	"sync/atomic"
)

// selectionCache keeps parsed attribute lists: a client sends the same
// list with every search (nslcd and SSSD one per map), and parsing one
// builds two maps, a sixth of a uid search's garbage. A selection is never
// changed once made, so searches share it. Past maxSelections lists no
// more are kept, so that a client sending a new list each time cannot
// grow the cache.
type selectionCache struct {
	m sync.Map // attribute list joined by NUL -> selection
	n atomic.Int32
}

const maxSelections = 1024

func (c *selectionCache) get(attrs []string) selection {
	key := strings.Join(attrs, "\x00")
	if s, ok := c.m.Load(key); ok {
		return s.(selection)
	}
	s := newSelection(attrs)
	if c.n.Load() < maxSelections {
		if _, loaded := c.m.LoadOrStore(key, s); !loaded {
			c.n.Add(1)
		}
	}
	return s
}

// covers reports whether set holds every attribute f tests, so that a
// search can use set as it is instead of a copy with the filter's
// attributes added.
func covers(set attrSet, f *Filter) bool {
	if f == nil {
		return true
	}
	if f.Attr == "" && f.Kind == FilterExtensible {
		return false
	}
	if f.Attr != "" && !set[attrKey(f.Attr)] {
		return false
	}
	for i := range f.Children {
		if !covers(set, &f.Children[i]) {
			return false
		}
	}
	return true
}

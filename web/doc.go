// Package web owns the page chrome every Atrium front end shares: the one
// layout (page head and foot) with its style sheets and browser helpers
// under /assets/, the buffered renderer that fills it with typed page data,
// the security headers every page carries (Protect), and the client's
// address (RemoteAddr), which a trusted reverse proxy may forward
// (TrustProxies).
//
// Each front end keeps its own page bodies and parses them with
// NewRenderer, which adds the layout and the message page. A page is
// rendered into a buffer first: a template that fails halfway sends a plain
// 500, never half a page.
package web

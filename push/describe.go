package push

import "strings"

// Describe names the browser and operating system of a User-Agent header
// for the approval prompt ("Firefox", "Linux"). It knows the common ones
// and says "a browser" or "an unknown system" otherwise; it is a hint to a
// person, not a security decision.
func Describe(ua string) (browser, os string) {
	browser, os = "a browser", "an unknown system"
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range systems {
		if strings.Contains(ua, o.token) {
			os = o.name
			break
		}
	}
	return browser, os
}

// Order matters: Edge and Opera also say Chrome, Chrome also says Safari,
// Android also says Linux, iOS also says Mac OS X.
var browsers = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
	{"OPR/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
	{"Safari/", "Safari"},
	{"curl/", "curl"},
}

var systems = []struct{ token, name string }{
	{"Windows", "Windows"},
	{"iPhone", "iOS"}, {"iPad", "iPadOS"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Mac OS X", "macOS"}, {"Macintosh", "macOS"},
	{"Linux", "Linux"}, {"FreeBSD", "FreeBSD"},
}

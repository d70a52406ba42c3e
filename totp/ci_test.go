package totp

import "os"

func ciRequired() bool { return os.Getenv("CI") == "true" }

package console

// LiveAnswered is how many searches c's live sockets have answered.
func LiveAnswered(c *Console) int64 { return c.live.answered.Load() }

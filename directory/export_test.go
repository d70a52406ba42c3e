package directory

// SortedTx exposes the write buffer of BulkBatch to the tests: the Tx that
// buffers, and the function that writes the buffer through.
func SortedTx(tx Tx) (Tx, func() error) {
	s := newSortedTx(tx)
	return s, s.flush
}

// DummyHash is the hash verified for unknown names.
func (d *Directory) DummyHash() string { return d.dummyHash() }

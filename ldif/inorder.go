package ldif

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// inOrder runs fill for chunks 0 to n-1 on the given number of goroutines,
// each chunk into a buffer, and emit for each chunk in order on the
// caller's goroutine, while the next chunks are filled. Buffers are reused:
// no more than two per goroutine are in use. The first error stops it;
// every fill has returned when inOrder does (a chunk may read what is
// valid only until then, a read transaction's values).
func inOrder(workers, n int, fill func(worker, chunk int, out *bytes.Buffer) error, emit func(chunk int, out *bytes.Buffer) error) error {
	type filled struct {
		out *bytes.Buffer
		err error
	}
	free := make(chan *bytes.Buffer, 2*workers)
	for range cap(free) {
		free <- new(bytes.Buffer)
	}
	done := make([]chan filled, n)
	for i := range done {
		done[i] = make(chan filled, 1)
	}
	quit := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				var out *bytes.Buffer
				select {
				case out = <-free:
				case <-quit:
					return
				}
				// A buffer is taken before a chunk: the chunk emit waits for
				// is always being filled.
				c := int(next.Add(1)) - 1
				if c >= n {
					return
				}
				out.Reset()
				done[c] <- filled{out, fill(w, c, out)}
			}
		})
	}
	var err error
	for c := 0; c < n && err == nil; c++ {
		f := <-done[c]
		if err = f.err; err == nil {
			err = emit(c, f.out)
		}
		free <- f.out
	}
	close(quit)
	wg.Wait()
	return err
}

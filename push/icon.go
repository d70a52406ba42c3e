package push

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"sync"
)

const iconColor = "#2457c5"

// icons draws the web app's icons once: a white ring on the pages'
// accent colour, with a wide safe zone so maskable crops keep it whole.
var icons = sync.OnceValue(func() map[string][]byte {
	out := map[string][]byte{}
	for _, size := range []int{192, 512} {
		img := image.NewRGBA(image.Rect(0, 0, size, size))
		bg, fg := color.RGBA{0x24, 0x57, 0xc5, 0xff}, color.RGBA{0xff, 0xff, 0xff, 0xff}
		c := float64(size) / 2
		outer, inner := float64(size)*0.28, float64(size)*0.18
		for y := range size {
			for x := range size {
				dx, dy := float64(x)+0.5-c, float64(y)+0.5-c
				d2 := dx*dx + dy*dy
				if d2 <= outer*outer && d2 >= inner*inner {
					img.Set(x, y, fg)
				} else {
					img.Set(x, y, bg)
				}
			}
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		out[strconv.Itoa(size)+".png"] = b.Bytes()
	}
	return out
})

package config

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
)

// picture is an agent picture read and checked once per Parse.
type picture struct {
	data []byte
	mime string
	err  error
}

var (
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
	jpegMagic = []byte{0xff, 0xd8, 0xff}
)

// picture reads the JPEG or PNG file name (relative to the config's
// directory), bounded by max bytes and MaxPictureSide pixels a side.
func (v *validator) picture(name string, max int) (picture, error) {
	full := resolvePath(v.baseDir, name)
	if pic, ok := v.pictures[full]; ok {
		return pic, pic.err
	}
	pic := loadPicture(name, full, max)
	v.pictures[full] = pic
	return pic, pic.err
}

func loadPicture(name, full string, max int) picture {
	data, err := readBounded(full, max)
	if errors.Is(err, errTooLarge) {
		return picture{err: fmt.Errorf("%q is larger than limits.max_picture_bytes (%d bytes)", name, max)}
	}
	if err != nil {
		return picture{err: fmt.Errorf("cannot use %q: %v", name, unwrapPathErr(err))}
	}
	var (
		cfg  image.Config
		mime string
	)
	switch {
	case bytes.HasPrefix(data, pngMagic):
		mime = "image/png"
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case bytes.HasPrefix(data, jpegMagic):
		mime = "image/jpeg"
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	default:
		return picture{err: fmt.Errorf("%q is not a JPEG or PNG image", name)}
	}
	if err != nil {
		return picture{err: fmt.Errorf("%q is not a valid %s image: %v", name, mime, err)}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPictureSide || cfg.Height > MaxPictureSide {
		return picture{err: fmt.Errorf("%q is %dx%d pixels; at most %dx%d are allowed", name, cfg.Width, cfg.Height, MaxPictureSide, MaxPictureSide)}
	}
	return picture{data: data, mime: mime}
}

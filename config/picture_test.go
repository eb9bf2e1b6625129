package config

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeImage encodes a w x h image as PNG or JPEG into dir/name.
func writeImage(t *testing.T, dir, name, kind string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	var err error
	if kind == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPictures(t *testing.T) {
	dir := t.TempDir()
	pngData := writeImage(t, dir, "alice.png", "png", 4, 3)
	jpegData := writeImage(t, dir, "bob.jpg", "jpeg", 5, 5)
	writeImage(t, dir, "huge.png", "png", 2049, 1)
	if err := os.WriteFile(filepath.Join(dir, "text.png"), []byte("not a picture at all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// PNG magic followed by garbage: the header must decode too.
	if err := os.WriteFile(filepath.Join(dir, "fake.png"), append([]byte("\x89PNG\r\n\x1a\n"), "garbage!garbage!garbage!"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "pics"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeImage(t, filepath.Join(dir, "pics"), "carol.png", "png", 2, 2)

	t.Run("png and jpeg are loaded", func(t *testing.T) {
		c, _ := mustParse(t, widgetYAML("    agents:", "      - sip: alice", "        picture: alice.png", "      - sip: bob", "        picture: bob.jpg", "      - sip: carol", "        picture: pics/carol.png"), dir)
		agents := c.Widgets[0].Agents
		if agents[0].PictureType != "image/png" || !bytes.Equal(agents[0].PictureData, pngData) {
			t.Errorf("alice picture: type %q, %d bytes; want image/png, %d bytes", agents[0].PictureType, len(agents[0].PictureData), len(pngData))
		}
		if agents[1].PictureType != "image/jpeg" || !bytes.Equal(agents[1].PictureData, jpegData) {
			t.Errorf("bob picture: type %q, %d bytes; want image/jpeg, %d bytes", agents[1].PictureType, len(agents[1].PictureData), len(jpegData))
		}
		if agents[2].PictureType != "image/png" {
			t.Errorf("carol picture in a subdirectory: type %q", agents[2].PictureType)
		}
	})

	tests := []struct {
		name  string
		extra string // a limits section, if any
		file  string
		want  string
	}{
		{name: "renamed text file", file: "text.png", want: `"text.png" is not a JPEG or PNG image`},
		{name: "magic without a header", file: "fake.png", want: `"fake.png" is not a valid image/png image: unexpected EOF`},
		{name: "too many pixels", file: "huge.png", want: `"huge.png" is 2049x1 pixels; at most 2048x2048 are allowed`},
		{
			name:  "too many bytes",
			extra: "limits:\n  max_picture_bytes: 10\n",
			file:  "alice.png",
			want:  `"alice.png" is larger than limits.max_picture_bytes (10 bytes)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := tt.extra + agentYAML("sip: bob", "picture: "+tt.file)
			_, _, err := Parse("t.yaml", []byte(yaml), dir)
			line := 10 + countLines(tt.extra)
			want := []string{fmt.Sprintf("t.yaml:%d: widgets[0].agents[0].picture: %s", line, tt.want)}
			if got := problemStrings(t, err); !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}

func countLines(s string) int { return bytes.Count([]byte(s), []byte("\n")) }

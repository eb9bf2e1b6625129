package presence

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// findCorpus locates the shared SIP corpus: $FRONTDESK_CORPUS, or
// ../shared/corpus next to the module root.
func findCorpus() (string, error) {
	if dir := os.Getenv("FRONTDESK_CORPUS"); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getwd: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			corpus := filepath.Join(dir, "..", "shared", "corpus")
			if _, err := os.Stat(corpus); err != nil {
				return "", fmt.Errorf("corpus not found at %s", corpus)
			}
			return corpus, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("corpus not found: no go.mod above %s", wd)
		}
	}
}

// corpusDir returns the corpus directory or skips the test.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := findCorpus()
	if err != nil {
		t.Skip(err)
	}
	return dir
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return b
}

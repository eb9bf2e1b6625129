package main

import (
	"fmt"
	"os"
)

// workDir returns dir, or a new temporary directory when dir is "". Call
// finish with the run's error at the end: a failure names the directory (its
// config and logs explain it), a successful run removes a temporary one.
func workDir(dir, prefix string) (path string, finish func(err *error), err error) {
	keep := dir != ""
	if !keep {
		if dir, err = os.MkdirTemp("", prefix); err != nil {
			return "", nil, fmt.Errorf("working directory: %w", err)
		}
	}
	return dir, func(err *error) {
		if *err != nil {
			*err = fmt.Errorf("%w (config and logs in %s)", *err, dir)
		} else if !keep {
			_ = os.RemoveAll(dir)
		}
	}, nil
}

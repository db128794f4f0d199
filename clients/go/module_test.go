package agentnet_test

// The module as a user gets it: vet-clean and gofmt-clean code, the module path users import, and an example that
// builds from a module of its own (so it needs nothing this module's tests or layout provide).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const modulePath = "agentnet.dev/clients/go"

// goTool returns the go command, skipping the test where there is none (it runs from a compiled test binary).
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	return p
}

// goRun runs the go command in dir, failing the test when it fails.
func goRun(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out.String())
	}
}

func TestModuleShape(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the module path is the one users import", func(t *testing.T) {
		mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(mod), "\n")
		if strings.TrimSpace(first) != "module "+modulePath {
			t.Fatalf("go.mod starts with %q", first)
		}
	})

	t.Run("go vet is clean", func(t *testing.T) {
		goRun(t, root, nil, "vet", "./...")
	})

	t.Run("gofmt is clean outside the generated code", func(t *testing.T) {
		var files []string
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != root && (d.Name() == "gen" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(p, ".go") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		gofmt := filepath.Join(filepath.Dir(goTool(t)), "gofmt")
		if !fileExists(gofmt) {
			t.Skip("no gofmt next to the go command")
		}
		out, err := exec.Command(gofmt, append([]string{"-l"}, files...)...).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Fatalf("gofmt -l: %v\n%s", err, out)
		}
	})

	t.Run("examples/echo builds as a module of its own", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join(root, "examples", "echo", "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		buildOutside(t, root, src)
	})

	t.Run("the README's opening agent builds as a module of its own", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(root, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(readme), "```go\n")
		src, _, closed := strings.Cut(rest, "```")
		if !ok || !closed || !strings.HasPrefix(src, "package main") {
			t.Fatal("the README does not open with a complete package main in a go block")
		}
		buildOutside(t, root, []byte(src))
	})
}

// buildOutside builds main.go source as a user's module would: a module of its own requiring this one (through a
// replace to this checkout), tidied and built.
func buildOutside(t *testing.T, root string, src []byte) {
	t.Helper()
	dir := t.TempDir()
	mod := "module example.com/agent\n\ngo 1.26.0\n\nrequire " + modulePath + " v0.0.0\n\nreplace " + modulePath + " => " + root + "\n"
	for name, body := range map[string][]byte{"main.go": src, "go.mod": []byte(mod)} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The module cache is shared with this build, so tidy downloads at most the go.sum entries it lacks.
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off"}
	goRun(t, dir, env, "mod", "tidy")
	goRun(t, dir, env, "build", "-o", filepath.Join(dir, "agent"), ".")
	if !fileExists(filepath.Join(dir, "agent")) {
		t.Fatal("no binary was built")
	}
}

package agentnet

import (
	"fmt"
	"testing"
	"time"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

var done = &pb.AckItem{Outcome: pb.AckOutcome_ACK_OUTCOME_PROCESSED}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestDedupeRemembersWithinTheWindowAndForgetsAfter(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	d := newDedupe(10*time.Minute, 0, c.now)
	d.set("a", done)
	c.advance(9 * time.Minute)
	if e, ok := d.get("a"); !ok || !e.done {
		t.Fatal("a repeat within the window must be known, with its outcome")
	}
	d.set("running", nil)
	c.advance(2 * time.Minute)
	if _, ok := d.get("a"); ok {
		t.Fatal("an id past the window must be forgotten")
	}
	if e, ok := d.get("running"); !ok || e.done {
		t.Fatal("a running id must be kept")
	}
}

func TestDedupeKeepsRunningIdsWithoutBlockingPruning(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	d := newDedupe(time.Second, 0, c.now)
	d.set("running", nil)
	for i := 0; i < 100; i++ {
		d.set(fmt.Sprint("done", i), done)
	}
	c.advance(2 * time.Second)
	if _, ok := d.get("running"); !ok || d.len() != 1 {
		t.Fatalf("want only the running id left, have %d", d.len())
	}
}

func TestDedupeSizeCapForgetsTheOldestFirst(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	d := newDedupe(time.Hour, 3, c.now)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		d.set(id, done)
	}
	if d.len() != 3 {
		t.Fatalf("size %d, want 3", d.len())
	}
	for id, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true} {
		if _, ok := d.get(id); ok != want {
			t.Fatalf("%s known=%v, want %v", id, ok, want)
		}
	}
}

// The cost of a get/set is counted, not timed: with 20,000 ids remembered it must look at a bounded number of them.
func TestDedupeWorkPerMessageDoesNotGrowWithTheIdsRemembered(t *testing.T) {
	c := &fakeClock{t: time.Unix(0, 0)}
	d := newDedupe(10*time.Minute, 0, c.now)
	for i := 0; i < 20_000; i++ {
		c.advance(10 * time.Millisecond)
		d.set(fmt.Sprint("m", i), done)
	}
	d.looked = 0
	for i := 0; i < 1_000; i++ {
		c.advance(10 * time.Millisecond)
		d.get(fmt.Sprint("new", i))
		d.set(fmt.Sprint("new", i), done)
	}
	if d.looked > 2*2_000 {
		t.Fatalf("looked at %d entries for 2,000 calls", d.looked)
	}
	before := d.len()
	d.looked = 0
	c.advance(10 * time.Minute) // all the old ids expire: removing each once is the only work
	d.get("x")
	if removed := before - d.len(); removed < 20_000 || d.looked > removed+1 {
		t.Fatalf("removed %d, looked at %d", removed, d.looked)
	}
}

package agentnet

import (
	"container/list"
	"time"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// dedupe remembers message ids for DedupeTTL with what became of each (running, or the ack sent), so a message pushed
// again after a reconnect is neither handled twice nor left unacknowledged. An LRU in write order: every write moves
// its id to the back, so expired ids are all at the front and pruning stops at the first live one — amortised O(1)
// per message however many ids are remembered (the old code walked the whole map on every message). Not safe for
// concurrent use: the Agent holds its lock.
type dedupe struct {
	ttl        time.Duration
	maxEntries int
	now        func() time.Time
	order      *list.List // of *dedupeEntry, oldest write first
	byID       map[string]*list.Element
	looked     int // entries pruning has looked at, for the tests' count of work
}

type dedupeEntry struct {
	id      string
	at      time.Time
	done    bool
	outcome *pb.AckItem
}

// defaultDedupeMaxEntries bounds memory when a flood of distinct ids arrives within the TTL.
const defaultDedupeMaxEntries = 100_000

func newDedupe(ttl time.Duration, maxEntries int, now func() time.Time) *dedupe {
	if maxEntries <= 0 {
		maxEntries = defaultDedupeMaxEntries
	}
	if now == nil {
		now = time.Now
	}
	return &dedupe{ttl: ttl, maxEntries: maxEntries, now: now, order: list.New(), byID: map[string]*list.Element{}}
}

func (d *dedupe) len() int { return len(d.byID) }

func (d *dedupe) get(id string) (dedupeEntry, bool) {
	d.prune()
	el, ok := d.byID[id]
	if !ok {
		return dedupeEntry{}, false
	}
	return *el.Value.(*dedupeEntry), true
}

// set records id as running (outcome nil) or done with its ack.
func (d *dedupe) set(id string, outcome *pb.AckItem) {
	d.delete(id)
	d.byID[id] = d.order.PushBack(&dedupeEntry{id: id, at: d.now(), done: outcome != nil, outcome: outcome})
	d.prune()
}

func (d *dedupe) delete(id string) {
	if el, ok := d.byID[id]; ok {
		d.order.Remove(el)
		delete(d.byID, id)
	}
}

func (d *dedupe) prune() {
	now := d.now()
	for n := d.order.Len(); n > 0; n-- { // bounded, so a list of running ids cannot loop forever
		el := d.order.Front()
		e := el.Value.(*dedupeEntry)
		d.looked++
		if now.Sub(e.at) <= d.ttl && d.order.Len() <= d.maxEntries {
			return
		}
		if !e.done {
			// Still running: forgetting it would let a redelivery run it twice. Re-stamped at the back, so it does
			// not stop pruning behind it.
			e.at = now
			d.order.MoveToBack(el)
			continue
		}
		d.order.Remove(el)
		delete(d.byID, e.id)
	}
}

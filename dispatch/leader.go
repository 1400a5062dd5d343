package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// XEP-0114 allows one connection per component domain. With several
// replicas, the one holding a PostgreSQL advisory lock for the domain
// connects and works the outgoing-message queue; the others stand by and
// take over when its database session (and so the lock) goes away.

// LeaderRetry is how often a standby replica tries to take the lock.
const LeaderRetry = 2 * time.Second

// LeadXMPP runs run (the component connection) only while this process
// holds the lock for domain, and works the outgoing-message queue only
// then. It returns when ctx ends. Use with Config.ElectXMPPLeader.
func (s *Service) LeadXMPP(ctx context.Context, domain string, run func(ctx context.Context) error) error {
	for {
		if err := s.leadOnce(ctx, domain, run); err != nil && ctx.Err() == nil {
			s.log.Warn("XMPP leadership ended", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(LeaderRetry):
		}
	}
}

func (s *Service) leadOnce(ctx context.Context, domain string, run func(ctx context.Context) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	key := "fieldgate-xmpp:" + domain
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&got); err != nil {
		return fmt.Errorf("try lock: %w", err)
	}
	if !got {
		s.leader.Store(false)
		return nil
	}
	defer func() {
		// A broken connection has released the lock already.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
	}()

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan struct{})
	go func() {
		// The lock lives as long as this session: check it, and stop
		// leading as soon as it is gone, before another replica connects.
		defer close(watched)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				pctx, pcancel := context.WithTimeout(lctx, 3*time.Second)
				err := conn.Ping(pctx)
				pcancel()
				if err != nil && lctx.Err() == nil {
					s.log.Warn("lost the database session holding the XMPP lock", "err", err)
					cancel()
					return
				}
			}
		}
	}()
	defer func() { cancel(); <-watched }()

	if err := s.queue.Queues().Add(queueXMPP, river.QueueConfig{MaxWorkers: s.cfg.XMPPWorkers}); err != nil {
		return fmt.Errorf("start outgoing queue: %w", err)
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer rcancel()
		if err := s.queue.Queues().Remove(rctx, queueXMPP); err != nil {
			s.log.Error("stopping the outgoing queue failed", "err", err)
		}
	}()
	s.leader.Store(true)
	defer s.leader.Store(false)
	s.log.Info("holding the XMPP component lock; connecting", "domain", domain)
	return run(lctx)
}

// Leader reports whether this process holds the XMPP lock now.
func (s *Service) Leader() bool { return s.leader.Load() }

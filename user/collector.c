// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "collector.h"
#include "tracefile.h"
#include "util.h"

struct collector {
	struct collector_opts o;
	struct live *live;
	struct logsrc *logs; /* instead of live: followed logs */
	struct tl *tl;
	struct tf_writer *w;
	pthread_t thread;
	pthread_mutex_t lock;
	atomic_bool stop;
	bool started;
	uint64_t records_written; /* the thread's own count */
	uint64_t last_events, last_tick;
	double rate;
	char error[256];     /* the thread's own */
	char rec_error[256]; /* the trace file's: writing it stopped, not the thread */
	/* What readers see, copied by the thread under the lock: the live
	 * source's tables are the thread's alone (they grow as binaries appear). */
	struct live_stats pub_live;
	struct logsrc_stats pub_logs;
	unsigned int pub_attached[MS_P_COUNT];
	uint64_t pub_written;
	char pub_error[256];
	char pub_rec_error[256];
};

/* The source's figures: the live source's, or what stands for them when
 * following logs. */
static void source_stats(struct collector *c, struct live_stats *st, struct logsrc_stats *ls)
{
	memset(ls, 0, sizeof(*ls));
	if (c->live) {
		live_stats(c->live, st);
		return;
	}
	memset(st, 0, sizeof(*st));
	logsrc_stats(c->logs, ls);
	st->events = logsrc_records(ls);
	st->procs = (unsigned int)(ls->procs - ls->exits);
}

/* Collector thread: publish its state for collector_stats (lock taken here). */
static void publish(struct collector *c)
{
	struct logsrc_stats ls;
	struct live_stats st;

	source_stats(c, &st, &ls);
	pthread_mutex_lock(&c->lock);
	c->pub_live = st;
	c->pub_logs = ls;
	if (c->live)
		memcpy(c->pub_attached, live_probe_attached(c->live), sizeof(c->pub_attached));
	c->pub_written = c->records_written;
	memcpy(c->pub_error, c->error, sizeof(c->pub_error));
	memcpy(c->pub_rec_error, c->rec_error, sizeof(c->pub_rec_error));
	pthread_mutex_unlock(&c->lock);
}

static int on_rec(const union ms_rec *r, void *arg)
{
	struct collector *c = arg;
	int ret;

	/* A trace file that cannot be written (a full disk) stops there; the
	 * engine, and what serve exports from it, go on. */
	if (c->w && !c->rec_error[0]) {
		ret = tf_write(c->w, r);
		if (ret < 0 && ret != -EINVAL)
			snprintf(c->rec_error, sizeof(c->rec_error), "%s", tf_writer_error(c->w));
		else if (ret == 0)
			c->records_written++;
	}
	pthread_mutex_lock(&c->lock);
	tl_feed(c->tl, r);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* logsrc's callback (its arguments the other way round) */
static int on_log_rec(void *arg, const union ms_rec *r)
{
	return on_rec(r, arg);
}

/* Wait up to timeout_ms for the source, hand over what came: the number of
 * records, or a negative errno with c->error set. */
static int source_poll(struct collector *c, int timeout_ms)
{
	long n;

	if (c->live) {
		n = live_poll(c->live, timeout_ms);
		if (n < 0)
			snprintf(c->error, sizeof(c->error), "reading the ring buffer: %s",
				 strerror((int)-n));
		return (int)n;
	}
	/* the logs' stamps are on the wall clock: onto CLOCK_MONOTONIC */
	n = logsrc_poll(c->logs, timeout_ms, on_log_rec, c);
	if (n < 0)
		snprintf(c->error, sizeof(c->error), "following the logs: %s", strerror((int)-n));
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

static void tick(struct collector *c, uint64_t now)
{
	struct logsrc_stats ls;
	struct live_stats st;

	if (c->live)
		live_tick(c->live);
	source_stats(c, &st, &ls);
	pthread_mutex_lock(&c->lock);
	if (now > c->last_tick)
		c->rate = (st.events - c->last_events) * 1e9 / (double)(now - c->last_tick);
	c->last_events = st.events;
	c->last_tick = now;
	c->pub_live = st;
	c->pub_logs = ls;
	if (c->o.tick)
		c->o.tick(c->tl, now, c->o.tick_arg);
	if (c->o.expire_ns && now > c->o.expire_ns)
		tl_expire(c->tl, now - c->o.expire_ns);
	pthread_mutex_unlock(&c->lock);
	if (c->w && !c->rec_error[0] && tf_writer_flush(c->w) < 0)
		snprintf(c->rec_error, sizeof(c->rec_error), "%s", tf_writer_error(c->w));
}

static void *run(void *arg)
{
	struct collector *c = arg;
	uint64_t tick_ns = (uint64_t)c->o.tick_ms * 1000000ull;

	c->last_tick = ms_now_mono();
	while (!atomic_load(&c->stop) && !c->error[0]) {
		/* records wake the reader in batches (and exec/exit at once), so
		 * a wait as long as the tick costs no latency that matters */
		int n = source_poll(c, (int)c->o.tick_ms);
		uint64_t now = ms_now_mono();

		if (n < 0)
			break;
		if (now - c->last_tick >= tick_ns)
			tick(c, now);
		publish(c);
	}
	publish(c);
	return NULL;
}

int collector_start(const struct collector_opts *o, struct collector **out, char *err,
		    size_t errlen)
{
	struct collector *c;
	struct tf_meta meta;
	int ret;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->o = *o;
	if (!c->o.tick_ms)
		c->o.tick_ms = 1000;
	pthread_mutex_init(&c->lock, NULL);
	c->tl = tl_new();
	if (!c->tl) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (o->on_end)
		tl_set_on_end(c->tl, o->on_end, o->on_end_arg);
	if (o->record_path) {
		tf_meta_local(&meta);
		c->w = tf_writer_open(o->record_path, &meta, err, errlen);
		if (!c->w) {
			ret = -EIO;
			goto fail;
		}
	}
	if (o->nfollow) {
		/* live from now: what the logs hold is history (logsrc.h),
		 * and what is written from here on is read once before the
		 * thread starts, so that the first view has it */
		c->logs = logsrc_open(o->follow, o->nfollow, err, errlen);
		if (!c->logs) {
			ret = -EINVAL;
			goto fail;
		}
		ret = (int)logsrc_skip_history(c->logs);
		if (!ret && source_poll(c, 0) < 0)
			ret = -EIO;
		if (ret) {
			snprintf(err, errlen, "%s", c->error[0] ? c->error : "reading the logs");
			goto fail;
		}
	} else {
		ret = live_open(&o->live, on_rec, c, &c->live, err, errlen);
		if (ret)
			goto fail;
	}
	publish(c); /* before the thread exists: nothing races yet */
	ret = pthread_create(&c->thread, NULL, run, c);
	if (ret) {
		snprintf(err, errlen, "cannot start the collector thread: %s", strerror(ret));
		ret = -ret;
		goto fail;
	}
	c->started = true;
	*out = c;
	return 0;
fail:
	live_close(c->live);
	logsrc_close(c->logs);
	if (c->w) {
		tf_writer_close(c->w, 0);
		unlink(o->record_path);
	}
	tl_free(c->tl);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return ret;
}

void collector_lock(struct collector *c)
{
	pthread_mutex_lock(&c->lock);
}

void collector_unlock(struct collector *c)
{
	pthread_mutex_unlock(&c->lock);
}

const struct tl *collector_tl(const struct collector *c)
{
	return c->tl;
}

const unsigned int *collector_probe_attached(const struct collector *c)
{
	return c->pub_attached;
}

const struct live_stats *collector_live(const struct collector *c)
{
	return &c->pub_live;
}

const struct logsrc_stats *collector_logs(const struct collector *c)
{
	return c->logs ? &c->pub_logs : NULL;
}

void collector_stats(struct collector *c, struct collector_stats *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&c->lock);
	s->live = c->pub_live;
	s->follow = c->logs != NULL;
	s->logs = c->pub_logs;
	s->events_per_s = c->rate;
	s->records_written = c->pub_written;
	memcpy(s->error, c->pub_error, sizeof(s->error));
	memcpy(s->record_error, c->pub_rec_error, sizeof(s->record_error));
	pthread_mutex_unlock(&c->lock);
}

int collector_stop(struct collector *c)
{
	struct logsrc_stats ls;
	struct live_stats st;
	int ret = 0;

	if (!c)
		return 0;
	atomic_store(&c->stop, true);
	if (c->started)
		pthread_join(c->thread, NULL);
	/* what the kernel already holds (or the logs have) belongs to the file */
	while (!c->error[0] && source_poll(c, 0) > 0 && c->live)
		;
	if (c->live)
		live_tick(c->live);
	source_stats(c, &st, &ls);
	if (c->w) {
		ret = tf_writer_close(c->w, st.lost);
		if (c->rec_error[0])
			ret = 0; /* the file's error is out already; its chunks stay */
	}
	live_close(c->live);
	logsrc_close(c->logs);
	tl_free(c->tl);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return ret;
}

// SPDX-License-Identifier: LGPL-2.1-or-later
/* rtprofd --push: watched processes' stacks to a Pyroscope-compatible /ingest endpoint (push.h).
 *
 * Each push is the difference between the session's stacks now and at its last push (profiles__since), so
 * that the receiver, which adds up what it gets, holds the process's whole profile: the pushes of a process
 * sum to its session's profile, the last one sent once the process is gone. The request is Pyroscope's
 * ingestion API: POST /ingest?name=SERVICE{host=HOST,pid=PID}&from=S&until=S&format=pprof&sampleRate=HZ
 * with the profile as the multipart form field "profile", as Pyroscope's own agents send it. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "base/clock.h"
#include "base/errmsg.h"
#include "engine/engine.h"
#include "model/pprof.h"
#include "model/profiles.h"
#include "model/report.h"
#include "rtprofd/push.h"
#include "rtprofd/server_internal.h"

#define PUSH_QUEUE 64
#define PUSH_CONNECT_MS 2000
#define PUSH_TIMEOUT_MS 5000

struct push_job {
	struct push_job *next;
	char *query;
	uint8_t *body;
	size_t len;
};

struct pusher {
	char url[1024];
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct push_job *head, *tail;
	unsigned int queued;
	bool stopping;        /* under lock; also read by the transfer's progress callback */
	bool failing;         /* the last request failed: logged once until one succeeds */
	struct pusher_stats st;
};

static void job_free(struct push_job *j)
{
	free(j->query);
	free(j->body);
	free(j);
}

static bool stopping(struct pusher *p)
{
	bool s;

	pthread_mutex_lock(&p->lock);
	s = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* libcurl's progress callback: non-zero aborts the transfer (the daemon is exiting). */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return stopping(ctx);
}

static size_t discard(char *ptr, size_t size, size_t n, void *ctx)
{
	(void)ptr, (void)ctx;
	return size * n;
}

/* One request: 0 when the receiver took it (2xx), else -1 with the reason in why. */
static int post(struct pusher *p, CURL *curl, const struct push_job *j, char *why, size_t whylen)
{
	char url[2048];
	curl_mime *mime = curl_mime_init(curl);
	curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
	long status = 0;
	CURLcode rc;

	if (!part || snprintf(url, sizeof(url), "%s?%s", p->url, j->query) >= (int)sizeof(url)) {
		curl_mime_free(mime);
		snprintf(why, whylen, "%s", part ? "the request's URL is too long" : "out of memory");
		return -1;
	}
	curl_mime_name(part, "profile");
	curl_mime_filename(part, "profile.pprof");
	curl_mime_type(part, "application/octet-stream");
	curl_mime_data(part, (const char *)j->body, j->len);
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)PUSH_CONNECT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)PUSH_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "rtprofd/" RTPROF_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_mime_free(mime);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status > 299) {
		snprintf(why, whylen, "HTTP status %ld", status);
		return -1;
	}
	return 0;
}

static void *push_thread(void *arg)
{
	struct pusher *p = arg;
	CURL *curl = curl_easy_init();

	for (;;) {
		struct push_job *j;
		char why[256];
		int r;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		if (curl)
			r = post(p, curl, j, why, sizeof(why));
		else
			r = -1, snprintf(why, sizeof(why), "libcurl could not start");
		pthread_mutex_lock(&p->lock);
		if (r) {
			p->st.failed++;
			if (!p->failing && !p->stopping)
				server_log("push to %s failed: %s (said once until a push succeeds; counted)", p->url, why);
			p->failing = true;
		} else {
			p->st.sent++;
			if (p->failing)
				server_log("push to %s works again", p->url);
			p->failing = false;
		}
		pthread_mutex_unlock(&p->lock);
		job_free(j);
	}
	if (curl)
		curl_easy_cleanup(curl);
	return NULL;
}

int pusher__new(const char *url, struct pusher **out, char *err, size_t errlen)
{
	struct pusher *p;
	const char *host, *path;
	int r;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return errmsg(err, errlen, -EINVAL, "the push URL must start with http:// or https://: %.200s", url);
	host = strstr(url, "://") + 3;
	if (!*host || *host == '/')
		return errmsg(err, errlen, -EINVAL, "the push URL has no host: %.200s", url);
	if (strpbrk(url, "?# \t\r\n"))
		return errmsg(err, errlen, -EINVAL, "the push URL must have no query, fragment or space: %.200s", url);
	p = calloc(1, sizeof(*p));
	if (!p)
		return errmsg(err, errlen, -ENOMEM, "out of memory");
	path = strchr(host, '/');
	/* Pyroscope's address alone (http://host:4040): its ingestion endpoint */
	if (!path || !strcmp(path, "/"))
		r = snprintf(p->url, sizeof(p->url), "%.*s/ingest", (int)(path ? path - url : (ptrdiff_t)strlen(url)), url);
	else
		r = snprintf(p->url, sizeof(p->url), "%s", url);
	if (r >= (int)sizeof(p->url)) {
		free(p);
		return errmsg(err, errlen, -EINVAL, "the push URL is too long");
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(p);
		return errmsg(err, errlen, -EIO, "libcurl cannot start");
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	r = pthread_create(&p->thread, NULL, push_thread, p);
	if (r) {
		pusher__free(p);
		return errmsg(err, errlen, -r, "cannot start the push thread: %s", strerror(r));
	}
	p->started = true;
	*out = p;
	return 0;
}

void pusher__free(struct pusher *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->started) {
		pthread_join(p->thread, NULL);
		server_log("pushed %" PRIu64 " profiles to %s (%" PRIu64 " failed, %" PRIu64 " dropped with the queue full)",
			   p->st.sent, p->url, p->st.failed, p->st.dropped);
	}
	while (p->head) {
		struct push_job *j = p->head;

		p->head = j->next;
		job_free(j);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	curl_global_cleanup();
	free(p);
}

int pusher__submit(struct pusher *p, char *query, uint8_t *body, size_t len)
{
	struct push_job *j = calloc(1, sizeof(*j));
	int r = 0;

	pthread_mutex_lock(&p->lock);
	if (!j || p->queued >= PUSH_QUEUE) {
		p->st.dropped++;
		r = j ? -ENOSPC : -ENOMEM;
	} else {
		*j = (struct push_job){ .query = query, .body = body, .len = len };
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (r) {
		free(j);
		free(query);
		free(body);
	}
	return r;
}

void pusher__stats(struct pusher *p, struct pusher_stats *st)
{
	pthread_mutex_lock(&p->lock);
	*st = p->st;
	pthread_mutex_unlock(&p->lock);
}

/* ---- the server's side ---- */

/* A label value as Pyroscope's names take it: letters, digits, '.', '_' and '-'; anything else '_'. */
static void label_text(char *out, size_t size, const char *in)
{
	size_t n = 0;

	for (; *in && n + 1 < size; in++)
		out[n++] = (*in >= 'a' && *in <= 'z') || (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9') ||
				   *in == '.' || *in == '_' || *in == '-'
			   ? *in
			   : '_';
	out[n] = '\0';
	if (!n)
		snprintf(out, size, "unknown");
}

static const char *rep_process(void *ctx, pid_t pid)
{
	const struct rtp_report *rep = ctx;

	for (size_t i = 0; i < rep->n_targets; i++)
		if (rep->targets[i].pid == pid)
			return rep->targets[i].comm;
	return NULL;
}

static const char *rep_thread(void *ctx, pid_t tid)
{
	const struct rtp_report *rep = ctx;

	for (size_t i = 0; i < rep->n_threads; i++)
		if (rep->threads[i].tid == tid)
			return rep->threads[i].name;
	return NULL;
}

static int64_t wall_s_of(uint64_t mono_ns, uint64_t now_mono_ns)
{
	return (int64_t)time(NULL) - (int64_t)((now_mono_ns - mono_ns) / 1000000000ull);
}

/* The session's stacks since its last push, if any; the session's snapshot moves on. */
static void push_session(struct server *s, struct sess *ss, uint64_t now)
{
	struct pprof_names names;
	struct rtp_report *rep = NULL;
	struct rtp_profiles *delta = NULL;
	uint64_t samples = 0;
	uint8_t *buf = NULL, *gz = NULL;
	size_t len = 0, gz_len = 0;
	int64_t from = wall_s_of(ss->push_from_ns ? ss->push_from_ns : ss->created_ns, now), until = wall_s_of(now, now);
	char service[64], host[128], hostname[256] = "", name[320], *escaped = NULL, *query = NULL;

	if (engine__session_report_parts(s->e, ss->slot, "attach", ENGINE_REPORT_THREADS | ENGINE_REPORT_STACKS, &rep) ||
	    !rep->profiles || !rep->n_targets)
		goto out;
	delta = profiles__since(rep->profiles, ss->pushed);
	if (!delta)
		goto out;
	for (size_t i = 0; i < delta->n_rows; i++)
		samples += delta->rows[i].kind == RTP_PROF_CPU ? delta->rows[i].samples : 0;
	/* the snapshot moves on only with what was sent (or nothing to send) */
	if (samples) {
		names = (struct pprof_names){ rep_process, rep_thread, rep };
		if (pprof__encode(delta, RTP_PROF_CPU, NULL, &names, from * 1000000000ll, (until - from) * 1000000000ll,
				  &buf, &len) ||
		    pprof__gzip(buf, len, &gz, &gz_len))
			goto out;
		(void)gethostname(hostname, sizeof(hostname) - 1);
		label_text(service, sizeof(service), rep->targets[0].comm);
		label_text(host, sizeof(host), hostname);
		snprintf(name, sizeof(name), "%s{host=%s,pid=%d}", service, host, (int)rep->targets[0].pid);
		escaped = curl_escape(name, 0);
		if (!escaped || asprintf(&query, "name=%s&from=%" PRId64 "&until=%" PRId64 "&format=pprof&sampleRate=%u"
					 "&spyName=rtprof", escaped, from, until > from ? until : from + 1,
					 delta->sample_hz) < 0) {
			query = NULL;
			goto out;
		}
		(void)pusher__submit(s->push, query, gz, gz_len);
		query = NULL;
		gz = NULL;
	}
	profiles__free(ss->pushed);
	ss->pushed = rep->profiles;
	rep->profiles = NULL;
	ss->push_from_ns = now;
out:
	curl_free(escaped);
	free(query);
	free(buf);
	free(gz);
	profiles__free(delta);
	report__free(rep);
}

void push__tick(struct server *s, uint64_t now)
{
	if (!s->push || now < s->next_push_ns)
		return;
	s->next_push_ns = now + (uint64_t)s->push_interval_s * 1000000000ull;
	for (int i = 0; (unsigned int)i < s->lim.sessions; i++) {
		struct sess *ss = &s->sessions[i];

		if (!ss->used || !ss->watched || ss->push_done)
			continue;
		/* a process gone: what it did since the last push, once */
		ss->push_done = !engine__session_live(s->e, ss->slot);
		push_session(s, ss, now);
	}
}

void push__session_free(struct sess *ss)
{
	profiles__free(ss->pushed);
	ss->pushed = NULL;
}

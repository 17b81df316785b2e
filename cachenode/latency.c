/* latency.c: latency diagnostics, as Redis 7.0 has them.
 *
 * The latency monitor: events (command, fast-command, expire-cycle,
 * eviction-cycle, eviction-del, fork) that took at least
 * latency-monitor-threshold milliseconds are kept as one sample per second,
 * the last 160 per event, for LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR.
 *
 * Latency tracking: per command, a histogram of execution times with the
 * bucket layout of the HdrHistogram Redis uses (1 us to 1 s, two
 * significant digits), so that LATENCY HISTOGRAM's power-of-two buckets and
 * INFO latencystats' percentiles come out as Redis prints them. Histograms
 * are allocated on a command's first call and found through a table keyed
 * by the command's address (the last one remembered): recording is at most
 * one probe and one increment. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server.h"

long long latency_monitor_threshold; /* ms; 0: the monitor is off */
int latency_tracking = 1;

/* ---- the histogram layout ------------------------------------------------- */

/* Redis's histogram: lowest value 1000 ns, highest 1e9 ns, 2 significant
 * digits: 256 sub-buckets, the first bucket 512 ns wide. */
#define HIST_MIN_NS 1000LL
#define HIST_MAX_NS 1000000000LL
#define HIST_UNIT_MAG 9
#define HIST_HALF_MAG 7
#define HIST_HALF_COUNT (1 << HIST_HALF_MAG)
#define HIST_SUB_MASK (255LL << HIST_UNIT_MAG)
#define HIST_COUNTS 1920 /* (14 buckets + 1) * 128 */
#define HIST_FIRST_REPORT_NS 1024LL

struct histogram {
    long long total;
    long long counts[HIST_COUNTS];
};

static int hist_bucket_of(long long v)
{
    int pow2ceiling = 64 - __builtin_clzll((unsigned long long)(v | HIST_SUB_MASK));
    return pow2ceiling - HIST_UNIT_MAG - (HIST_HALF_MAG + 1);
}

static int hist_index_of(long long v)
{
    int bucket = hist_bucket_of(v);
    long long sub = v >> (bucket + HIST_UNIT_MAG);
    return ((bucket + 1) << HIST_HALF_MAG) + (int)(sub - HIST_HALF_COUNT);
}

static long long hist_value_at(int index)
{
    int bucket = (index >> HIST_HALF_MAG) - 1;
    long long sub = (index & (HIST_HALF_COUNT - 1)) + HIST_HALF_COUNT;
    if (bucket < 0) {
        sub -= HIST_HALF_COUNT;
        bucket = 0;
    }
    return sub << (bucket + HIST_UNIT_MAG);
}

/* The largest value counted in the same slot as v. */
static long long hist_highest_equivalent(long long v)
{
    return v + (1LL << (hist_bucket_of(v) + HIST_UNIT_MAG)) - 1;
}

/* ---- histograms by command ------------------------------------------------- */

struct hist_slot {
    const struct command *cmd;
    struct histogram *h;
};

static struct hist_slot *hist_slots;
static size_t hist_slots_size; /* a power of two, over twice the commands */

static size_t hist_slot_index(const struct command *cmd)
{
    uint64_t x = (uint64_t)(uintptr_t)cmd * 0x9E3779B97F4A7C15ULL;
    return (size_t)(x >> 32) & (hist_slots_size - 1);
}

static void hist_slot_add(const struct command *cmd)
{
    size_t i = hist_slot_index(cmd);
    while (hist_slots[i].cmd && hist_slots[i].cmd != cmd) i = (i + 1) & (hist_slots_size - 1);
    hist_slots[i].cmd = cmd;
}

/* Every command and subcommand gets its slot once, so that lookups never
 * insert and the table never grows. */
static void hist_slots_init(void)
{
    size_t n = 0;
    for (struct command **c = command_all(); *c; c++) {
        n++;
        if ((*c)->subcommands)
            for (struct command *s = (*c)->subcommands; s->name; s++) n++;
    }
    hist_slots_size = 64;
    while (hist_slots_size < n * 2) hist_slots_size <<= 1;
    hist_slots = zcalloc(sizeof(struct hist_slot) * hist_slots_size);
    for (struct command **c = command_all(); *c; c++) {
        hist_slot_add(*c);
        if ((*c)->subcommands)
            for (struct command *s = (*c)->subcommands; s->name; s++) hist_slot_add(s);
    }
}

static struct hist_slot *hist_slot_of(const struct command *cmd)
{
    if (hist_slots == NULL) hist_slots_init();
    size_t i = hist_slot_index(cmd);
    for (size_t probes = 0; probes < hist_slots_size; probes++) {
        if (hist_slots[i].cmd == cmd) return &hist_slots[i];
        if (hist_slots[i].cmd == NULL) return NULL;
        i = (i + 1) & (hist_slots_size - 1);
    }
    return NULL;
}

static const struct histogram *histogram_of(const struct command *cmd)
{
    struct hist_slot *s = hist_slot_of(cmd);
    return s ? s->h : NULL;
}

/* The last command's histogram: pipelines mostly repeat one command. */
static const struct command *last_cmd;
static struct histogram *last_hist;

void latency_track_command(const struct command *cmd, long long duration_us)
{
    struct histogram *h = last_hist;
    if (cmd != last_cmd || h == NULL) {
        struct hist_slot *s = hist_slot_of(cmd);
        if (s == NULL) return;
        if (s->h == NULL) s->h = zcalloc(sizeof(struct histogram));
        last_cmd = cmd;
        last_hist = h = s->h;
    }
    long long ns = duration_us * 1000;
    if (ns < HIST_MIN_NS) ns = HIST_MIN_NS;
    if (ns > HIST_MAX_NS) ns = HIST_MAX_NS;
    h->counts[hist_index_of(ns)]++;
    h->total++;
}

void latency_reset_histograms(void)
{
    last_cmd = NULL;
    last_hist = NULL;
    for (size_t i = 0; i < hist_slots_size; i++) {
        zfree(hist_slots[i].h);
        hist_slots[i].h = NULL;
    }
}

/* The value (ns) at a percentile, as HdrHistogram computes it. */
static long long hist_percentile(const struct histogram *h, double percentile)
{
    double p = percentile < 100.0 ? percentile : 100.0;
    long long wanted = (long long)(p / 100 * (double)h->total + 0.5);
    if (wanted < 1) wanted = 1;
    long long seen = 0;
    int i = 0;
    for (; i < HIST_COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= wanted) break;
    }
    if (i == HIST_COUNTS) i = HIST_COUNTS - 1;
    long long v = hist_value_at(i);
    return percentile == 0.0 ? v : hist_highest_equivalent(v);
}

/* ---- latency-tracking-info-percentiles -------------------------------------- */

#define MAX_PERCENTILES 64

static double percentiles[MAX_PERCENTILES] = {50.0, 99.0, 99.9};
static int percentiles_len = 3;

int latency_set_percentiles(char **words, int n, const char **err)
{
    double parsed[MAX_PERCENTILES];
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (words[i][0] == '\0') continue; /* "" sets none */
        char *end;
        double v = strtod(words[i], &end);
        if (*end || count == MAX_PERCENTILES || v != v) {
            *err = "Invalid latency-tracking-info-percentiles parameters";
            return -1;
        }
        if (v < 0.0 || v > 100.0) {
            *err = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
            return -1;
        }
        parsed[count++] = v;
    }
    memcpy(percentiles, parsed, sizeof(double) * (size_t)count);
    percentiles_len = count;
    return 0;
}

/* "%f" without trailing zeros (and without a trailing dot), as Redis
 * prints doubles in configs and percentile names: 99.9, 50. */
static void trimmed_double(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%f", v);
    if (strchr(buf, '.') == NULL) return;
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] == '0') buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '.') buf[--len] = '\0';
}

void latency_get_percentiles(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < percentiles_len && used < size; i++) {
        char one[64];
        trimmed_double(one, sizeof(one), percentiles[i]);
        int w = snprintf(buf + used, size - used, "%s%s", i ? " " : "", one);
        if (w < 0) break;
        used += (size_t)w;
    }
}

size_t latency_command_percentiles(const struct command *cmd, char *buf, size_t size)
{
    const struct histogram *h = histogram_of(cmd);
    if (h == NULL || size == 0) return 0;
    int w = snprintf(buf, size, "latency_percentiles_usec_%s:", cmd->name);
    size_t used = w < 0 ? 0 : (size_t)w;
    for (int i = 0; i < percentiles_len && used < size; i++) {
        char name[64];
        trimmed_double(name, sizeof(name), percentiles[i]);
        double usec = (double)hist_percentile(h, percentiles[i]) / 1000.0;
        w = snprintf(buf + used, size - used, "%sp%s=%.3f", i ? "," : "", name, usec);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used < size) {
        w = snprintf(buf + used, size - used, "\r\n");
        if (w > 0) used += (size_t)w;
    }
    return used < size ? used : size - 1;
}

/* ---- the latency monitor ---------------------------------------------------- */

#define LATENCY_TS_LEN 160
#define MAX_EVENTS 32
#define EVENT_NAME_MAX 64

struct latency_sample {
    long long time; /* unix seconds; 0: unused */
    unsigned latency; /* ms */
};

struct latency_event {
    char name[EVENT_NAME_MAX];
    int idx; /* where the next sample goes */
    unsigned max;
    struct latency_sample samples[LATENCY_TS_LEN];
};

static struct latency_event *events[MAX_EVENTS];
static int events_len;

static struct latency_event *event_find(const char *name, size_t len)
{
    for (int i = 0; i < events_len; i++)
        if (strlen(events[i]->name) == len && memcmp(events[i]->name, name, len) == 0) return events[i];
    return NULL;
}

static void latency_add_sample(const char *name, long long ms)
{
    struct latency_event *ev = event_find(name, strlen(name));
    if (ev == NULL) {
        if (events_len == MAX_EVENTS) return;
        ev = zcalloc(sizeof(*ev));
        snprintf(ev->name, sizeof(ev->name), "%s", name);
        events[events_len++] = ev;
    }
    unsigned latency = ms > (long long)UINT32_MAX ? UINT32_MAX : (unsigned)ms;
    long long now = (long long)time(NULL);
    if (latency > ev->max) ev->max = latency;
    /* one sample per second: the worst of that second */
    struct latency_sample *prev = &ev->samples[(ev->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
    if (prev->time == now) {
        if (latency > prev->latency) prev->latency = latency;
        return;
    }
    ev->samples[ev->idx].time = now;
    ev->samples[ev->idx].latency = latency;
    ev->idx = (ev->idx + 1) % LATENCY_TS_LEN;
}

void latency_add_sample_if_needed(const char *event, long long ms)
{
    if (latency_monitor_threshold && ms >= latency_monitor_threshold)
        latency_add_sample(event, ms);
}

static void event_remove(int i)
{
    zfree(events[i]);
    memmove(&events[i], &events[i + 1], sizeof(events[0]) * (size_t)(events_len - i - 1));
    events_len--;
}

/* ---- LATENCY LATEST / HISTORY / RESET ------------------------------------------ */

static void latency_latest_command(client *c)
{
    reply_array(c, events_len);
    for (int i = 0; i < events_len; i++) {
        struct latency_event *ev = events[i];
        struct latency_sample *last = &ev->samples[(ev->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        reply_array(c, 4);
        reply_bulk_cstr(c, ev->name);
        reply_int(c, last->time);
        reply_int(c, last->latency);
        reply_int(c, ev->max);
    }
}

static void latency_history_command(client *c)
{
    struct latency_event *ev = event_find(c->argv[2].p, c->argv[2].len);
    if (ev == NULL) {
        reply_array(c, 0);
        return;
    }
    void *len = reply_deferred(c);
    long n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        struct latency_sample *s = &ev->samples[(ev->idx + j) % LATENCY_TS_LEN];
        if (s->time == 0) continue;
        reply_array(c, 2);
        reply_int(c, s->time);
        reply_int(c, s->latency);
        n++;
    }
    reply_set_deferred_array(c, len, n);
}

static void latency_reset_command(client *c)
{
    long long resets = 0;
    if (c->argc == 2) {
        resets = events_len;
        while (events_len > 0) event_remove(events_len - 1);
    } else {
        for (int j = 2; j < c->argc; j++) {
            for (int i = 0; i < events_len; i++) {
                if (strlen(events[i]->name) == c->argv[j].len &&
                    memcmp(events[i]->name, c->argv[j].p, c->argv[j].len) == 0) {
                    event_remove(i);
                    resets++;
                    break;
                }
            }
        }
    }
    reply_int(c, resets);
}

/* ---- LATENCY GRAPH ------------------------------------------------------------ */

/* A growing text, for the graph and the doctor's report. */
struct report {
    char *buf;
    size_t len, cap;
};

static void report_add(struct report *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n + 1) cap *= 2;
        r->buf = zrealloc(r->buf, cap);
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static void report_addf(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report_addf(struct report *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    report_add(r, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

#define GRAPH_COLS 80
#define GRAPH_ROWS 4
#define GRAPH_LABEL_MARGIN 1

struct graph_point {
    unsigned value;
    char label[24]; /* how long ago: "12s", "3m", "2h", "1d" */
};

/* One band of up to GRAPH_COLS columns, as Redis's sparkline draws it:
 * GRAPH_ROWS rows of bars (a row holds 3 steps: '_', 'o', '#', with '|'
 * below the top), a blank row, then each column's label written down. */
static void graph_band(struct report *r, const struct graph_point *p, int len, unsigned min, unsigned max)
{
    static const char fill[] = "_o#";
    const int steps = 3 * GRAPH_ROWS;
    double range = max - min ? (double)(max - min) : 1.0;
    char chars[GRAPH_COLS];
    for (int row = 0;; row++) {
        int any = 0;
        memset(chars, ' ', sizeof(chars));
        for (int j = 0; j < len; j++) {
            if (row < GRAPH_ROWS) {
                int step = (int)((double)(p[j].value - min) * steps / range);
                if (step >= steps) step = steps - 1;
                int idx = step - (GRAPH_ROWS - row - 1) * 3;
                if (idx >= 0 && idx < 3) chars[j] = fill[idx];
                else if (idx >= 3) chars[j] = '|';
                any = 1;
            } else if (row - GRAPH_ROWS < GRAPH_LABEL_MARGIN) {
                any = 1; /* the blank row between bars and labels */
                memset(chars, ' ', sizeof(chars));
                break;
            } else {
                int k = row - GRAPH_ROWS - GRAPH_LABEL_MARGIN;
                if ((int)strlen(p[j].label) > k) {
                    chars[j] = p[j].label[k];
                    any = 1;
                }
            }
        }
        if (!any) break;
        report_add(r, chars, (size_t)len);
        report_add(r, "\n", 1);
    }
}

static void elapsed_label(char *buf, size_t size, long long elapsed)
{
    if (elapsed < 60) snprintf(buf, size, "%llds", elapsed);
    else if (elapsed < 3600) snprintf(buf, size, "%lldm", elapsed / 60);
    else if (elapsed < 86400) snprintf(buf, size, "%lldh", elapsed / 3600);
    else snprintf(buf, size, "%lldd", elapsed / 86400);
}

static void latency_graph_command(client *c)
{
    struct latency_event *ev = event_find(c->argv[2].p, c->argv[2].len);
    if (ev == NULL) {
        reply_errorf(c, "ERR No samples available for event '%.*s'", (int)c->argv[2].len, c->argv[2].p);
        return;
    }
    struct graph_point points[LATENCY_TS_LEN];
    int n = 0;
    unsigned min = 0, max = 0;
    long long now = (long long)time(NULL);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        struct latency_sample *s = &ev->samples[(ev->idx + j) % LATENCY_TS_LEN];
        if (s->time == 0) continue;
        if (n == 0 || s->latency > max) max = s->latency;
        if (n == 0 || s->latency < min) min = s->latency;
        points[n].value = s->latency;
        elapsed_label(points[n].label, sizeof(points[n].label), now - s->time);
        n++;
    }
    struct report r = {0};
    report_addf(&r, "%s - high %u ms, low %u ms (all time high %u ms)\n", ev->name, max, min, ev->max);
    for (int j = 0; j < GRAPH_COLS; j++) report_add(&r, "-", 1);
    report_add(&r, "\n", 1);
    for (int j = 0; j < n; j += GRAPH_COLS) {
        if (j) report_add(&r, "\n", 1);
        graph_band(&r, points + j, n - j < GRAPH_COLS ? n - j : GRAPH_COLS, min, max);
    }
    reply_verbatim(c, r.buf, r.len, "txt");
    zfree(r.buf);
}

/* ---- LATENCY DOCTOR ----------------------------------------------------------- */

struct event_stats {
    unsigned samples, avg, mad;
    long long period; /* seconds since the oldest sample, at least 1 */
};

static struct event_stats event_analyze(const struct latency_event *ev)
{
    struct event_stats st = {0, 0, 0, 0};
    unsigned long long sum = 0;
    long long oldest = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_sample *s = &ev->samples[j];
        if (s->time == 0) continue;
        st.samples++;
        sum += s->latency;
        if (oldest == 0 || s->time < oldest) oldest = s->time;
    }
    if (st.samples == 0) return st;
    st.avg = (unsigned)(sum / st.samples);
    st.period = (long long)time(NULL) - oldest;
    if (st.period == 0) st.period = 1;
    unsigned long long dev = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const struct latency_sample *s = &ev->samples[j];
        if (s->time == 0) continue;
        long long d = (long long)st.avg - (long long)s->latency;
        dev += (unsigned long long)(d < 0 ? -d : d);
    }
    st.mad = (unsigned)(dev / st.samples);
    return st;
}

enum advice {
    ADVISE_SLOWLOG_ENABLED,
    ADVISE_SLOWLOG_TUNING,
    ADVISE_SLOWLOG_INSPECT,
    ADVISE_SCHEDULER,
    ADVISE_HZ,
    ADVISE_LARGE_OBJECTS,
    ADVISE_MASS_EVICTION,
    ADVICES
};

/* What each event suggests, by Redis's rules for the events we have. */
static void event_advices(const char *name, int *advise)
{
    if (strcasecmp(name, "command") == 0) {
        if (server.slowlog_log_slower_than < 0 || server.slowlog_max_len == 0)
            advise[ADVISE_SLOWLOG_ENABLED] = 1;
        else if (server.slowlog_log_slower_than / 1000 > latency_monitor_threshold)
            advise[ADVISE_SLOWLOG_TUNING] = 1;
        advise[ADVISE_SLOWLOG_INSPECT] = 1;
        advise[ADVISE_LARGE_OBJECTS] = 1;
    } else if (strcasecmp(name, "fast-command") == 0) {
        advise[ADVISE_SCHEDULER] = 1;
    } else if (strcasecmp(name, "expire-cycle") == 0) {
        advise[ADVISE_HZ] = 1;
        advise[ADVISE_LARGE_OBJECTS] = 1;
    } else if (strcasecmp(name, "eviction-del") == 0) {
        advise[ADVISE_LARGE_OBJECTS] = 1;
    } else if (strcasecmp(name, "eviction-cycle") == 0) {
        advise[ADVISE_MASS_EVICTION] = 1;
    }
}

static void add_advices(struct report *r, const int *advise)
{
    unsigned long long threshold_us = (unsigned long long)latency_monitor_threshold * 1000;
    if (advise[ADVISE_SLOWLOG_ENABLED])
        report_addf(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n", threshold_us);
    if (advise[ADVISE_SLOWLOG_TUNING])
        report_addf(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %llu'.\n", threshold_us);
    if (advise[ADVISE_SLOWLOG_INSPECT])
        report_addf(r, "%s", "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    if (advise[ADVISE_SCHEDULER])
        report_addf(r, "%s", "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
                              "  1) Lower the system load.\n"
                              "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                              "  3) Check if you have a \"noisy neighbour\" problem.\n"
                              "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
                              "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    if (advise[ADVISE_HZ] && server.hz < 100)
        report_addf(r, "%s", "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    if (advise[ADVISE_LARGE_OBJECTS])
        report_addf(r, "%s", "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    if (advise[ADVISE_MASS_EVICTION])
        report_addf(r, "%s", "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
}

static void doctor_report(struct report *r)
{
    if (latency_monitor_threshold == 0 && events_len == 0) {
        report_addf(r, "%s", "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
        return;
    }
    if (events_len == 0) {
        report_addf(r, "%s", "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return;
    }
    report_addf(r, "%s", "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
    int advise[ADVICES] = {0};
    for (int i = 0; i < events_len; i++) {
        struct event_stats st = event_analyze(events[i]);
        if (st.samples == 0) continue;
        report_addf(r, "%d. %s: %u latency spikes (average %ums, mean deviation %ums, period %.2f sec). Worst all time event %ums.\n",
                    i + 1, events[i]->name, st.samples, st.avg, st.mad, (double)st.period / st.samples,
                    events[i]->max);
        event_advices(events[i]->name, advise);
    }
    int any = 0;
    for (int a = 0; a < ADVICES; a++) any |= advise[a];
    if (!any) {
        report_addf(r, "%s", "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your request.\n");
        return;
    }
    report_addf(r, "%s", "\nI have a few advices for you:\n\n");
    add_advices(r, advise);
}

static void latency_doctor_command(client *c)
{
    struct report r = {0};
    doctor_report(&r);
    reply_verbatim(c, r.buf, r.len, "txt");
    zfree(r.buf);
}

/* ---- LATENCY HISTOGRAM --------------------------------------------------------- */

/* {calls, histogram_usec: {bucket: cumulative count}}: the buckets are
 * those of HdrHistogram's logarithmic iteration from 1024 ns by powers of
 * two, named by the largest microsecond value they count, and only those
 * where the cumulative count grew. */
static void reply_histogram(client *c, const struct histogram *h)
{
    reply_map(c, 2);
    reply_bulk_cstr(c, "calls");
    reply_int(c, h->total);
    reply_bulk_cstr(c, "histogram_usec");
    void *len = reply_deferred(c);
    long buckets = 0;
    long long cumulative = 0, reported = 0;
    int index = 0;
    for (long long level = HIST_FIRST_REPORT_NS; reported < h->total; level *= 2) {
        int last = hist_index_of(level);
        long long highest;
        if (level > HIST_MAX_NS || last >= HIST_COUNTS) {
            /* past the last slot: the iteration ends on it */
            last = HIST_COUNTS - 1;
            highest = hist_highest_equivalent(hist_value_at(last));
        } else {
            highest = hist_highest_equivalent(level);
        }
        for (; index <= last; index++) cumulative += h->counts[index];
        if (cumulative > reported) {
            reply_int(c, highest / 1000);
            reply_int(c, cumulative);
            reported = cumulative;
            buckets++;
        }
        if (last == HIST_COUNTS - 1) break;
    }
    reply_set_deferred_map(c, len, buckets);
}

static long reply_command_histogram(client *c, const struct command *cmd)
{
    const struct histogram *h = histogram_of(cmd);
    if (h == NULL) return 0;
    reply_bulk_cstr(c, cmd->name);
    reply_histogram(c, h);
    return 1;
}

/* A command and, for a container, its subcommands. */
static long reply_command_histograms(client *c, const struct command *cmd)
{
    long n = reply_command_histogram(c, cmd);
    if (cmd->subcommands)
        for (const struct command *s = cmd->subcommands; s->name; s++) n += reply_command_histogram(c, s);
    return n;
}

/* "name" or "container|sub", case-insensitively. */
static const struct command *lookup_full_name(const arg *a)
{
    const char *bar = memchr(a->p, '|', a->len);
    if (bar == NULL) return command_lookup(a->p, a->len);
    struct command *parent = command_lookup(a->p, (size_t)(bar - a->p));
    if (parent == NULL || parent->subcommands == NULL) return NULL;
    for (const struct command *s = parent->subcommands; s->name; s++)
        if (arg_is(a->p, a->len, s->name)) return s;
    return NULL;
}

static void latency_histogram_command(client *c)
{
    void *len = reply_deferred(c);
    long n = 0;
    if (c->argc == 2) {
        for (struct command **cmd = command_all(); *cmd; cmd++) n += reply_command_histograms(c, *cmd);
    } else {
        for (int j = 2; j < c->argc; j++) {
            const struct command *cmd = lookup_full_name(&c->argv[j]);
            if (cmd) n += reply_command_histograms(c, cmd);
        }
    }
    reply_set_deferred_map(c, len, n);
}

/* ---- LATENCY HELP and the table ------------------------------------------------ */

static void latency_help_command(client *c)
{
    static const char *const help[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

#define LATENCY_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
#define LATENCY_SUB(name, proc, arity, tips, summary, cx) \
    {name, proc, arity, LATENCY_FLAGS, 0, 0, 0, 0, NULL, tips, "server", summary, "2.8.13", cx, NULL, 0, 0, 0, 0}
#define LATENCY_REPORT_TIPS "nondeterministic_output request_policy:all_nodes response_policy:special"

static struct command latency_subcommands[] = {
    {"latency|histogram", latency_histogram_command, -2, LATENCY_FLAGS, 0, 0, 0, 0, NULL, LATENCY_REPORT_TIPS, "server", "Return the cumulative distribution of latencies of a subset of commands or all.", "7.0.0", "O(N) where N is the number of commands with latency information being retrieved.", NULL, 0, 0, 0, 0},
    {"latency|help", latency_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, 0, NULL, NULL, "server", "Show helpful text about the different subcommands.", "2.8.13", "O(1)", NULL, 0, 0, 0, 0},
    LATENCY_SUB("latency|history", latency_history_command, 3, LATENCY_REPORT_TIPS, "Return timestamp-latency samples for the event.", "O(1)"),
    LATENCY_SUB("latency|reset", latency_reset_command, -2, "request_policy:all_nodes response_policy:all_succeeded", "Reset latency data for one or more events.", "O(1)"),
    LATENCY_SUB("latency|latest", latency_latest_command, 2, LATENCY_REPORT_TIPS, "Return the latest latency samples for all events.", "O(1)"),
    LATENCY_SUB("latency|doctor", latency_doctor_command, 2, LATENCY_REPORT_TIPS, "Return a human readable latency analysis report.", "O(1)"),
    LATENCY_SUB("latency|graph", latency_graph_command, 3, LATENCY_REPORT_TIPS, "Return a latency graph for the event.", "O(1)"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* Runs only when no subcommand matched, which dispatch already answers. */
static void latency_container_command(client *c) { reply_arity_error(c); }

struct command latency_commands[] = {
    {"latency", latency_container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "server", "A container for latency diagnostics commands", "2.8.13", "Depends on subcommand.", latency_subcommands, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

/* mc_meta.c: memcached's meta protocol: mg, ms, md, ma, mn and me, with the
 * flags memcached 1.6.18 accepts (base64 keys, opaque, quiet mode, CAS,
 * TTLs, vivify on miss, stale-while-revalidate with the W/X/Z flags) and
 * its reply and error lines. A request is parsed whole into struct meta
 * before anything is changed, so a bad request changes nothing. */
#include <stdio.h>
#include <string.h>

#include "mc.h"

#define META_TOKENS 24
#define OPAQUE_MAX 32 /* the token, O included */

struct meta {
    struct mc_session *s;
    char cmd;                 /* g s d a */
    char key[MC_KEY_MAX + 1]; /* decoded when base64 */
    size_t nkey;
    const char *keytok;       /* the key as the client sent it */
    size_t nkeytok;
    unsigned char has[128];   /* flags given */
    char order[META_TOKENS];  /* flags given, in order (the reply's order) */
    int norder;
    const char *opaque;
    size_t nopaque;
    long long ttl_T, ttl_N, recache_R;
    uint64_t cas_C, delta_D, initial_J;
    uint32_t flags_F;
    char mode;
    int vivified; /* mg created the item: this client wins its fill */
};

/* ---- parsing -------------------------------------------------------------------- */

static const char *flag_error(const struct meta *m, int duplicate)
{
    if (m->cmd == 'd' || m->cmd == 'a') return "CLIENT_ERROR invalid or duplicate flag";
    return duplicate ? "CLIENT_ERROR duplicate flag" : "CLIENT_ERROR invalid flag";
}

static const char *token_error(const struct meta *m)
{
    if (m->cmd == 'd' || m->cmd == 'a') return "CLIENT_ERROR invalid or duplicate flag";
    return "CLIENT_ERROR bad token in command line format";
}

static int ttl_arg(const char *t, long long *out)
{
    int32_t v;
    if (mc_strtol32(t, &v) == -1) return -1;
    *out = v;
    return 0;
}

/* One flag token; NULL or the error line. */
static const char *parse_flag(struct meta *m, const char *tok, size_t len)
{
    static const char *allowed[] = {"bcfhklOqstuvNRT", "bcCFIkOqTMN", "bCIkOqT", "bCNJDTMOqtcvk"};
    const char *set = allowed[m->cmd == 'g' ? 0 : m->cmd == 's' ? 1 : m->cmd == 'd' ? 2 : 3];
    unsigned char f = (unsigned char)tok[0];
    const char *arg = tok + 1;
    if (f >= 128 || !strchr(set, f)) return flag_error(m, 0);
    if (m->has[f]) return flag_error(m, 1);
    m->has[f] = 1;
    if (m->norder < META_TOKENS) m->order[m->norder++] = (char)f;
    switch (f) {
    case 'O':
        if (len > OPAQUE_MAX) return "CLIENT_ERROR opaque token too long";
        m->opaque = arg;
        m->nopaque = len - 1;
        return NULL;
    case 'T': return ttl_arg(arg, &m->ttl_T) ? token_error(m) : NULL;
    case 'N': return ttl_arg(arg, &m->ttl_N) ? token_error(m) : NULL;
    case 'R': return ttl_arg(arg, &m->recache_R) ? token_error(m) : NULL;
    case 'C': return len < 2 || mc_strtoull(arg, &m->cas_C) ? token_error(m) : NULL;
    case 'D': return len < 2 || mc_strtoull(arg, &m->delta_D) ? token_error(m) : NULL;
    case 'J': return len < 2 || mc_strtoull(arg, &m->initial_J) ? token_error(m) : NULL;
    case 'F': return mc_strtoul32(arg, &m->flags_F) ? "CLIENT_ERROR bad command line format" : NULL;
    case 'M':
        m->mode = len == 2 ? arg[0] : 0;
        if (m->cmd == 's' && (!m->mode || !strchr("EAPRS", m->mode)))
            return "CLIENT_ERROR invalid mode for ms M token";
        if (m->cmd == 'a' && (!m->mode || !strchr("IiDd+-", m->mode)))
            return "CLIENT_ERROR invalid mode for ma M token";
        return NULL;
    default:
        return len == 1 ? NULL : flag_error(m, 0);
    }
}

static const char *parse_key(struct meta *m, char *tok, size_t len)
{
    m->keytok = tok;
    m->nkeytok = len;
    if (m->has['b']) {
        long n = mc_base64_decode(tok, len, m->key, MC_KEY_MAX);
        if (n <= 0) return "CLIENT_ERROR error decoding key";
        m->nkey = (size_t)n;
        return NULL;
    }
    if (len > MC_KEY_MAX) return "CLIENT_ERROR bad command line format";
    memcpy(m->key, tok, len);
    m->nkey = len;
    return NULL;
}

/* ---- replies ---------------------------------------------------------------------- */

static void add_key(struct mc_buf *o, const char *key, size_t nkey, int binary)
{
    mc_buf_add(o, " k", 2);
    if (!binary) {
        mc_buf_add(o, key, nkey);
        return;
    }
    char enc[(MC_KEY_MAX + 2) / 3 * 4 + 4];
    mc_buf_add(o, enc, mc_base64_encode(key, nkey, enc));
    mc_buf_add(o, " b", 2);
}

/* The O and k flags, in the order given: what every reply carries. */
static void add_echo(struct meta *m, int binary)
{
    for (int i = 0; i < m->norder; i++) {
        if (m->order[i] == 'O') {
            mc_buf_add(m->s->out, " O", 2);
            mc_buf_add(m->s->out, m->opaque, m->nopaque);
        } else if (m->order[i] == 'k') {
            add_key(m->s->out, m->key, m->nkey, binary);
        }
    }
}

/* A reply line without item details: code, then O and k. */
static void status(struct meta *m, const char *code)
{
    mc_buf_str(m->s->out, code);
    add_echo(m, m->has['b']);
    mc_buf_add(m->s->out, "\r\n", 2);
}

static void error_line(struct mc_session *s, const char *err)
{
    mc_buf_str(s->out, err);
    mc_buf_add(s->out, "\r\n", 2);
}

static long long ttl_left(const mc_item *it, uint32_t now)
{
    return it->exptime == 0 ? -1 : (long long)it->exptime - now;
}

/* The item flags a hit returns (c f h k l O s t), in the order given. */
static void add_item_flags(struct meta *m, const mc_item *it, int hit_before, uint32_t last_access)
{
    struct mc_buf *o = m->s->out;
    uint32_t now = mc_now();
    for (int i = 0; i < m->norder; i++) {
        switch (m->order[i]) {
        case 'c': mc_buf_printf(o, " c%llu", (unsigned long long)it->cas); break;
        case 'f': mc_buf_printf(o, " f%u", it->flags); break;
        case 'h': mc_buf_printf(o, " h%d", hit_before); break;
        case 'l': mc_buf_printf(o, " l%u", now - last_access); break;
        case 's': mc_buf_printf(o, " s%u", it->nbytes); break;
        case 't': mc_buf_printf(o, " t%lld", ttl_left(it, now)); break;
        case 'k': add_key(o, MC_ITEM_KEY(it), it->nkey, it->bits & MC_BINARY_KEY); break;
        case 'O':
            mc_buf_add(o, " O", 2);
            mc_buf_add(o, m->opaque, m->nopaque);
            break;
        }
    }
}

/* "VA <len> <flags>\r\n<value>\r\n" or "HD <flags>\r\n". */
static void hit_reply(struct meta *m, const mc_item *it, const char *extra, int hit_before, uint32_t last_access)
{
    struct mc_buf *o = m->s->out;
    if (m->has['v']) mc_buf_printf(o, "VA %u", it->nbytes);
    else mc_buf_add(o, "HD", 2);
    add_item_flags(m, it, hit_before, last_access);
    mc_buf_str(o, extra);
    mc_buf_add(o, "\r\n", 2);
    if (m->has['v']) mc_buf_add(o, MC_ITEM_VAL(it), (size_t)it->nbytes + 2);
}

/* ---- mg ----------------------------------------------------------------------------- */

static int mg_visit(mc_item *it, void *arg)
{
    struct meta *m = arg;
    if (!it) return 0;
    uint32_t now = mc_now();
    int hit_before = (it->bits & MC_FETCHED) != 0;
    uint32_t last_access = it->atime;
    if (m->has['T']) it->exptime = mc_exptime(m->ttl_T);
    /* stale-while-revalidate: one client wins the refresh (W); the others
     * learn that a winner exists (Z); X marks a stale item */
    int win = m->has['R'] && it->exptime != 0 && (long long)it->exptime - now < m->recache_R &&
              !(it->bits & MC_TOKEN_SENT);
    win |= m->vivified;
    char extra[8] = "";
    if (it->bits & MC_TOKEN_SENT) strcat(extra, " Z");
    if (it->bits & MC_STALE) {
        strcat(extra, " X");
        if (!(it->bits & MC_TOKEN_SENT)) win = 1;
    }
    if (win) {
        strcat(extra, " W");
        it->bits |= MC_TOKEN_SENT;
    }
    if (!m->has['u']) {
        it->bits |= MC_REF | MC_FETCHED;
        it->atime = now;
    }
    hit_reply(m, it, extra, hit_before, last_access);
    return 1;
}

/* N on a miss: an empty item is created and this client wins its fill. */
static int mg_vivify(struct meta *m)
{
    enum mc_result res;
    mc_item *it = mc_item_new(m->key, m->nkey, 0, mc_exptime(m->ttl_N), 0, &res);
    if (!it) return 0;
    it->bits |= m->has['b'] ? MC_BINARY_KEY : 0;
    if (mc_store_item(it, MC_ADD, 0, 0, NULL) != MC_STORED) return 0;
    m->vivified = 1;
    return mc_store_visit(m->key, m->nkey, mg_visit, m);
}

static void cmd_mg(struct meta *m)
{
    struct mc_worker_stats *st = m->s->stats;
    MC_STAT_INC(st, cmd_get);
    if (m->has['T']) MC_STAT_INC(st, cmd_touch);
    if (mc_store_visit(m->key, m->nkey, mg_visit, m)) {
        MC_STAT_INC(st, get_hits);
        return;
    }
    MC_STAT_INC(st, get_misses);
    if (m->has['N']) {
        /* the vivified item is reported with W: the caller must fill it */
        size_t before = m->s->out->len;
        if (mg_vivify(m)) return;
        m->s->out->len = before;
    }
    if (!m->has['q']) status(m, "EN");
}

/* ---- ms ------------------------------------------------------------------------------ */

static enum mc_store_mode ms_mode(const struct meta *m)
{
    switch (m->has['M'] ? m->mode : 'S') {
    case 'E': return MC_ADD;
    case 'A': return MC_APPEND;
    case 'P': return MC_PREPEND;
    case 'R': return m->has['C'] ? MC_CAS : MC_REPLACE;
    default: return m->has['C'] ? MC_CAS : MC_SET;
    }
}

static long cmd_ms(struct meta *m, int32_t vlen, const char *data, size_t avail)
{
    struct mc_session *s = m->s;
    size_t need = (size_t)vlen + 2;
    enum mc_result res;
    MC_STAT_INC(s->stats, cmd_set);
    if (!mc_item_size_ok(m->nkey, (size_t)vlen))
        return mc_refuse_store(s, MC_TOO_LARGE, m->key, m->nkey, 1, 0, need, avail);
    if (avail < need) return -2;
    uint32_t exptime = m->has['T'] ? mc_exptime(m->ttl_T) : 0;
    mc_item *it = mc_item_new(m->key, m->nkey, m->has['F'] ? m->flags_F : 0, exptime, (size_t)vlen, &res);
    if (!it) return mc_refuse_store(s, res, m->key, m->nkey, 1, 0, need, avail);
    if (data[vlen] != '\r' || data[vlen + 1] != '\n') {
        mc_item_free(it);
        error_line(s, "CLIENT_ERROR bad data chunk");
        return (long)need;
    }
    memcpy(MC_ITEM_VAL(it), data, (size_t)vlen);
    if (m->has['b']) it->bits |= MC_BINARY_KEY;
    uint64_t cas = 0; /* what c reports when nothing was stored */
    res = mc_store_item(it, ms_mode(m), m->cas_C, m->has['I'], &cas);
    if (res == MC_NO_MEMORY) {
        error_line(s, "SERVER_ERROR out of memory storing object");
        return (long)need;
    }
    if (res == MC_STORED && m->has['q']) return (long)need;
    const char *code = res == MC_STORED ? "HD" : res == MC_NOT_STORED ? "NS" : res == MC_EXISTS ? "EX" : "NF";
    mc_buf_str(s->out, code);
    for (int i = 0; i < m->norder; i++) {
        if (m->order[i] == 'c') mc_buf_printf(s->out, " c%llu", (unsigned long long)cas);
        else if (m->order[i] == 'O') {
            mc_buf_add(s->out, " O", 2);
            mc_buf_add(s->out, m->opaque, m->nopaque);
        } else if (m->order[i] == 'k') {
            add_key(s->out, m->key, m->nkey, m->has['b']);
        }
    }
    mc_buf_add(s->out, "\r\n", 2);
    return (long)need;
}

/* ---- md ------------------------------------------------------------------------------ */

/* md with I: the item stays, stale, with a new CAS and maybe a new TTL. */
static int md_invalidate(mc_item *it, void *arg)
{
    struct meta *m = arg;
    if (!it) return MC_NOT_FOUND;
    if (m->has['C'] && it->cas != m->cas_C) return MC_EXISTS;
    it->bits = (uint8_t)((it->bits | MC_STALE) & ~MC_TOKEN_SENT);
    it->cas = mc_next_cas();
    if (m->has['T']) it->exptime = mc_exptime(m->ttl_T);
    return MC_DELETED;
}

static void cmd_md(struct meta *m)
{
    enum mc_result res = m->has['I'] ? (enum mc_result)mc_store_visit(m->key, m->nkey, md_invalidate, m)
                                     : mc_store_delete(m->key, m->nkey, m->has['C'] ? m->cas_C : 0);
    if (res == MC_DELETED) {
        MC_STAT_INC(m->s->stats, delete_hits);
        if (!m->has['q']) status(m, "HD");
        return;
    }
    if (res == MC_NOT_FOUND) MC_STAT_INC(m->s->stats, delete_misses);
    status(m, res == MC_NOT_FOUND ? "NF" : "EX");
}

/* ---- ma ------------------------------------------------------------------------------ */

static int ma_finish(mc_item *it, void *arg)
{
    struct meta *m = arg;
    if (!it) return 0;
    if (m->has['T']) it->exptime = mc_exptime(m->ttl_T);
    hit_reply(m, it, "", (it->bits & MC_FETCHED) != 0, it->atime);
    return 1;
}

/* N on a miss: the item is created with J's value (not incremented). */
static enum mc_result ma_vivify(struct meta *m)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)m->initial_J);
    enum mc_result res;
    mc_item *it = mc_item_new(m->key, m->nkey, 0, mc_exptime(m->ttl_N), (size_t)n, &res);
    if (!it) return res;
    memcpy(MC_ITEM_VAL(it), num, (size_t)n);
    if (m->has['b']) it->bits |= MC_BINARY_KEY;
    return mc_store_item(it, MC_ADD, 0, 0, NULL);
}

static void cmd_ma(struct meta *m)
{
    int incr = !m->has['M'] || strchr("Ii+", m->mode) != NULL;
    uint64_t value;
    struct mc_worker_stats *st = m->s->stats;
    enum mc_result res = mc_store_delta(m->key, m->nkey, incr, m->has['D'] ? m->delta_D : 1,
                                        m->has['C'] ? m->cas_C : 0, 0, &value, NULL);
    if (res == MC_NOT_FOUND && m->has['N'] && ma_vivify(m) == MC_STORED) {
        /* a vivified reply is never quiet */
        if (!mc_store_visit(m->key, m->nkey, ma_finish, m)) status(m, "NF");
        return;
    }
    if (res == MC_NOT_FOUND) {
        MC_STAT_INC(st, incr_misses);
        status(m, "NF");
    } else if (res == MC_EXISTS) {
        status(m, "EX");
    } else if (res == MC_NON_NUMERIC) {
        error_line(m->s, "CLIENT_ERROR cannot increment or decrement non-numeric value");
    } else if (res != MC_OK) {
        error_line(m->s, "SERVER_ERROR out of memory");
    } else {
        MC_STAT_INC(st, incr_hits);
        size_t before = m->s->out->len;
        mc_store_visit(m->key, m->nkey, ma_finish, m);
        if (m->has['q']) m->s->out->len = before;
    }
}

/* ---- me ------------------------------------------------------------------------------ */

static int me_visit(mc_item *it, void *arg)
{
    struct meta *m = arg;
    if (!it) return 0;
    uint32_t now = mc_now();
    mc_buf_add(m->s->out, "ME ", 3);
    mc_buf_add(m->s->out, m->keytok, m->nkeytok);
    mc_buf_printf(m->s->out, " exp=%lld la=%u cas=%llu fetch=%s cls=1 size=%zu\r\n", ttl_left(it, now),
                  now - it->atime, (unsigned long long)it->cas, it->bits & MC_FETCHED ? "yes" : "no",
                  sizeof(mc_item) + it->nkey + it->nbytes + 2);
    return 1;
}

/* ---- dispatch ------------------------------------------------------------------------ */

long mc_meta_process(struct mc_session *s, char *line, const char *data, size_t avail)
{
    char *tok[META_TOKENS];
    size_t toklen[META_TOKENS];
    int n = mc_tokenize(line, tok, toklen, META_TOKENS);
    char cmd = tok[0][1];
    MC_STAT_INC(s->stats, cmd_meta);
    if (cmd == 'n') {
        mc_buf_str(s->out, "MN\r\n");
        return 0;
    }
    if (n < 2) {
        mc_buf_str(s->out, "ERROR\r\n");
        return 0;
    }
    struct meta mm;
    memset(&mm, 0, sizeof(mm));
    struct meta *m = &mm;
    m->s = s;
    m->cmd = cmd == 'e' ? 'g' : cmd;
    int first_flag = 2;
    int32_t vlen = -1;
    const char *err = NULL;
    if (cmd == 's') {
        if (n < 3 || mc_strtol32(tok[2], &vlen) == -1 || vlen < 0 || vlen > INT32_MAX - 2) {
            error_line(s, "CLIENT_ERROR bad command line format");
            return 0;
        }
        first_flag = 3;
    }
    /* flags first: b decides how the key reads */
    for (int i = first_flag; i < n && !err; i++) err = parse_flag(m, tok[i], toklen[i]);
    if (!err) err = parse_key(m, tok[1], toklen[1]);
    long consumed = 0;
    if (err) {
        error_line(s, err);
        if (cmd == 's') { /* the data block of a refused ms is dropped */
            size_t need = (size_t)vlen + 2, now = avail < need ? avail : need;
            s->swallow = need - now;
            consumed = (long)now;
        }
    } else if (cmd == 'g') {
        cmd_mg(m);
    } else if (cmd == 's') {
        consumed = cmd_ms(m, vlen, data, avail);
    } else if (cmd == 'd') {
        cmd_md(m);
    } else if (cmd == 'a') {
        cmd_ma(m);
    } else if (!mc_store_visit(m->key, m->nkey, me_visit, m)) {
        mc_buf_str(s->out, "EN\r\n");
    }
    return consumed;
}

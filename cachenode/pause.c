/* pause.c: holding clients' commands. CLIENT PAUSE and CLIENT UNPAUSE (Redis
 * 6.2+): until a deadline or an UNPAUSE, the commands of normal clients (all
 * of them, or only those that may write) wait instead of running, and run
 * when the pause ends. While writes are paused the dataset does not change on
 * its own either: keys do not expire and nothing is evicted, so a replica
 * that caught up stays caught up; a planned failover relies on it, and on the
 * held writes running only after the switch, when they are redirected (MOVED
 * in cluster mode) instead of failing.
 *
 * Also the list of held clients itself, which a slot hand-off uses too
 * (cluster_migrate.c): a held client's request stays in its query buffer,
 * the client is blocked, and on release the request is parsed and checked
 * again, so it meets the node as it is then. */
#include <limits.h>
#include <string.h>

#include "alloc.h"
#include "server.h"
#include "util.h"

void held_add(struct held_clients *h, client *c)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->ids = zrealloc(h->ids, h->cap * sizeof(*h->ids));
    }
    h->ids[h->n++] = c->id;
    c->qb_pos = c->req_start; /* parsed again on release */
    c->flags |= CLIENT_HELD;
    block_client(c, 0);
}

void held_release(struct held_clients *h)
{
    for (size_t i = 0; i < h->n; i++) {
        client *c = client_by_id(h->ids[i]);
        if (c == NULL || !(c->flags & CLIENT_HELD)) continue; /* gone meanwhile */
        c->flags &= ~CLIENT_HELD;
        unblock_client(c);
    }
    h->n = 0;
}

void held_free(struct held_clients *h)
{
    zfree(h->ids);
    memset(h, 0, sizeof(*h));
}

/* ---- CLIENT PAUSE ------------------------------------------------------------ */

enum pause_mode { PAUSE_OFF = 0, PAUSE_WRITE, PAUSE_ALL };

static enum pause_mode mode;
static long long pause_end_ms; /* monotonic */
static struct held_clients paused;

int pause_writes_paused(void) { return mode != PAUSE_OFF; }

int pause_holds(client *c, const struct command *cmd)
{
    if (mode == PAUSE_OFF) return 0;
    if (c->flags & (CLIENT_MASTER | CLIENT_IMPORT | CLIENT_REPLICA)) return 0;
    if ((c->flags & CLIENT_MULTI) && !multi_is_exec(cmd)) return 0; /* queued: EXEC is what waits */
    if (mode == PAUSE_WRITE && !((cmd->flags | multi_exec_flags(c, cmd)) & (CMD_WRITE | CMD_MAY_REPLICATE)))
        return 0;
    held_add(&paused, c);
    return 1;
}

static void end_pause(void)
{
    mode = PAUSE_OFF;
    pause_end_ms = 0;
    held_release(&paused);
}

void pause_check_deadline(void)
{
    if (mode != PAUSE_OFF && monotonic_us() / 1000 >= pause_end_ms) end_pause();
}

void pause_release_all(void) { held_free(&paused); }

/* CLIENT PAUSE timeout [WRITE|ALL]: a second pause keeps the later deadline
 * and the stricter mode, as Redis does. */
void client_pause_command(client *c)
{
    long long timeout;
    if (!string2ll(c->argv[2].p, c->argv[2].len, &timeout)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (timeout < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    enum pause_mode want = PAUSE_ALL;
    if (c->argc == 4) {
        if (arg_is(c->argv[3].p, c->argv[3].len, "write")) want = PAUSE_WRITE;
        else if (!arg_is(c->argv[3].p, c->argv[3].len, "all")) {
            reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    } else if (c->argc > 4) {
        reply_error(c, "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.");
        return;
    }
    long long now = monotonic_us() / 1000;
    long long end = timeout > LLONG_MAX - now ? LLONG_MAX : now + timeout;
    if (end > pause_end_ms) pause_end_ms = end;
    if (want > mode) mode = want;
    reply_ok(c);
}

void client_unpause_command(client *c)
{
    end_pause();
    reply_ok(c);
}

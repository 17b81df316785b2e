/* reshard_plan.c: the slot-move planner (see reshard_plan.h). */
#include "reshard_plan.h"

#include <stdlib.h>
#include <string.h>

#include "slots.h"

/* owner[slot]: the index of the shard that owns it; 0 when every slot is
 * owned exactly once. */
static int owners(const char *const *texts, int nold, short *owner, int *count)
{
    unsigned char *all = calloc(SLOTS_COUNT, 1), *mine = malloc(SLOTS_COUNT);
    int rc = all && mine ? 0 : -1;
    for (int i = 0; rc == 0 && i < nold; i++) {
        memset(mine, 0, SLOTS_COUNT);
        if (texts[i] == NULL || slots_parse(texts[i], mine) != 0) rc = -1;
        count[i] = 0;
        for (int s = 0; rc == 0 && s < SLOTS_COUNT; s++) {
            if (!mine[s]) continue;
            if (all[s]) rc = -1;
            all[s] = 1;
            owner[s] = (short)i;
            count[i]++;
        }
    }
    for (int s = 0; rc == 0 && s < SLOTS_COUNT; s++) if (!all[s]) rc = -1;
    free(all);
    free(mine);
    return rc;
}

/* The slot count each shard should end with: base for every remaining
 * shard, one more for the `extra` that hold the most now, 0 for removed. */
static void targets(const int *count, int nold, int nnew, int *want)
{
    int base = SLOTS_COUNT / nnew, extra = SLOTS_COUNT % nnew;
    for (int i = 0; i < nnew; i++) want[i] = base;
    for (int i = nnew; i < nold; i++) want[i] = 0;
    for (int k = 0; k < extra; k++) {
        int best = -1;
        for (int i = 0; i < nnew; i++) {
            int have = i < nold ? count[i] : 0;
            if (want[i] == base && (best < 0 || have > (best < nold ? count[best] : 0))) best = i;
        }
        want[best]++;
    }
}

/* Takes n slots of shard `from` from the end of its ranges into one move. */
static int take(short *owner, int from, int to, int n, struct plan_move *m)
{
    unsigned char *mark = calloc(SLOTS_COUNT, 1);
    m->slots = malloc(SLOTS_TEXT_MAX);
    if (mark == NULL || m->slots == NULL) { free(mark); return -1; }
    m->from = from;
    m->to = to;
    m->count = n;
    for (int s = SLOTS_COUNT - 1; s >= 0 && n > 0; s--) {
        if (owner[s] != from) continue;
        mark[s] = 1;
        owner[s] = (short)to;
        n--;
    }
    int rc = slots_format(mark, m->slots, SLOTS_TEXT_MAX);
    free(mark);
    return rc;
}

/* Pairs donors (more than wanted) with receivers (fewer), in index order. */
static int pair(short *owner, const int *count, const int *want, int total, struct plan_move *moves)
{
    int have[PLAN_SHARDS_MAX], n = 0, d = 0, r = 0;
    memcpy(have, count, (size_t)total * sizeof(int));
    for (;;) {
        while (d < total && have[d] <= want[d]) d++;
        while (r < total && have[r] >= want[r]) r++;
        if (d >= total || r >= total) return n;
        int k = have[d] - want[d] < want[r] - have[r] ? have[d] - want[d] : want[r] - have[r];
        if (n >= 2 * PLAN_SHARDS_MAX || take(owner, d, r, k, &moves[n]) != 0) return -1;
        n++;
        have[d] -= k;
        have[r] += k;
    }
}

int plan_moves(const char *const *texts, int nold, int nnew, struct plan_move **out)
{
    *out = NULL;
    if (nold < 1 || nold > PLAN_SHARDS_MAX || nnew < 1 || nnew > PLAN_SHARDS_MAX) return -1;
    int total = nold > nnew ? nold : nnew, count[PLAN_SHARDS_MAX] = {0}, want[PLAN_SHARDS_MAX];
    short *owner = malloc(SLOTS_COUNT * sizeof(short));
    struct plan_move *moves = calloc(2 * PLAN_SHARDS_MAX, sizeof(*moves));
    int n = owner && moves ? owners(texts, nold, owner, count) : -1;
    if (n == 0) {
        targets(count, nold, nnew, want);
        n = pair(owner, count, want, total, moves);
    }
    free(owner);
    if (n <= 0) {
        plan_free(moves, 2 * PLAN_SHARDS_MAX);
        return n;
    }
    *out = moves;
    return n;
}

void plan_free(struct plan_move *moves, int n)
{
    if (moves == NULL) return;
    for (int i = 0; i < n; i++) free(moves[i].slots);
    free(moves);
}

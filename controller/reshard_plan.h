/* reshard_plan.h: which slots move where when a cluster-mode cluster gets
 * a new number of shards or is rebalanced. Pure functions over the shards'
 * slots as text ranges (slots.h), so they are unit-tested without a
 * database or nodes. */
#ifndef CF_CTL_RESHARD_PLAN_H
#define CF_CTL_RESHARD_PLAN_H

#define PLAN_SHARDS_MAX 500

/* One move: `count` slots (text ranges in `slots`) from shard index `from`
 * to shard index `to`. */
struct plan_move {
    int from, to, count;
    char *slots;
};

/* texts[nold]: the slots each current shard owns (together every slot
 * exactly once). nnew shards remain afterwards: when nnew < nold the last
 * shards (indexes nnew..nold-1) are removed and their slots go; when
 * nnew > nold, shards nold..nnew-1 are new and start with no slot. Plans
 * the fewest slot moves that leave every remaining shard with 16384/nnew
 * slots (the extra 16384 % nnew slots stay with the shards that hold the
 * most), taking slots from the end of a donor's ranges so that a move is a
 * whole range where possible. Each donor feeds the receivers in order.
 * Returns how many moves (*out, free with plan_free; NULL when 0), or -1
 * when the texts are not valid, overlap or leave a slot unowned, or the
 * counts are out of 1..PLAN_SHARDS_MAX. */
int plan_moves(const char *const *texts, int nold, int nnew, struct plan_move **out);
void plan_free(struct plan_move *moves, int n);

#endif

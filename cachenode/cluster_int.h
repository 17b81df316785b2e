/* cluster_int.h: the state cluster.c keeps and cluster_cmd.c replies from;
 * nothing outside cluster mode's own files includes it. */
#ifndef CN_CLUSTER_INT_H
#define CN_CLUSTER_INT_H

#include "cluster_topo.h"

struct cluster_state {
    struct topology topo; /* epoch 0: none yet */
    int my_shard;         /* this node's shard in topo, -1 when not in it */
    int my_index;         /* its place there: 0 primary, > 0 replica */
};

extern struct cluster_state cluster;

#endif

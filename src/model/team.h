/* team.h: a small team of threads that run one function together, with a
 * barrier between steps: the row bands of one region's layers (gen_forward.c)
 * run on all cores at once, layer by layer. The caller is member 0; the
 * other members are threads started once, kept for every call (a run costs
 * a wake-up, not a thread start). Internal to src/model. */
#ifndef SRGAN_MODEL_TEAM_H
#define SRGAN_MODEL_TEAM_H

typedef struct gen_team gen_team;

/* A team of n members (n - 1 threads started); fewer when threads cannot be
 * started (gen_team_size tells). NULL when out of memory. */
gen_team *gen_team_new(int n);
void gen_team_free(gen_team *t);
/* Members; 1 for NULL. */
int gen_team_size(const gen_team *t);
/* Runs fn(arg, id) on every member id in [0, size) (the caller is 0) and
 * returns when all have returned. With t NULL: fn(arg, 0). */
void gen_team_run(gen_team *t, void (*fn)(void *arg, int id), void *arg);
/* Inside fn: waits until every member has reached it (no-op for NULL or a
 * team of one). Every member must call it the same number of times. */
void gen_team_barrier(gen_team *t);

#endif

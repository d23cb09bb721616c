/*
 * The simulated disk of a region in a simulation (include/tidal/sim.h, "The
 * disk"), for the layer that opens regions: the simulation decides whether
 * there is one, and resolves its crashes with draws from its seed.
 * Called on the simulation's thread.
 */
#ifndef TIDAL_RUNTIME_SIM_DISK_H
#define TIDAL_RUNTIME_SIM_DISK_H

#include "store/simdisk.h"
#include "tidal/sim.h"

/* A new simulated disk for one region's directory, or *out NULL if the
 * simulation keeps real disks (tidal_sim_opts.real_disk).  TIDAL_ENOMEM. */
int tidal__sim_disk_open(tidal_sim *s, tidal__simdisk **out) __attribute__((warn_unused_result));

/* The crash of region's disk d, every log on it closed: resolved with the
 * simulation's disk draws (store/simdisk.h, the crash rule), counted in its
 * stats and written to its disk trace; then d is freed.  Cannot fail. */
void tidal__sim_disk_crash(tidal_sim *s, tidal__simdisk *d, unsigned region);

#endif /* TIDAL_RUNTIME_SIM_DISK_H */

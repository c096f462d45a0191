/* The software device's prelude to kernels.cu (docs/design.md §9): plain C for the host compiler.
 * A launch runs every block and every thread in order on the calling thread; `blockIdx`,
 * `threadIdx`, `blockDim` and `gridDim` are that thread's globals while it runs. */
#include <math.h>
#include <stdint.h>

typedef struct { unsigned int x, y, z; } sim_dim3;
static _Thread_local sim_dim3 blockIdx, threadIdx, blockDim, gridDim;

#define KERNEL(name, Args) static void name(Args a)
#define DEVICE_FN static inline
#define ATOMIC_ADD_U64(p, v) (*(p) += (v))
#define SIM_LAUNCHER(name, Args)                                                              \
    void sim_##name(sim_dim3 grid, sim_dim3 block, const void *args) {                         \
        gridDim = grid;                                                                        \
        blockDim = block;                                                                      \
        for (unsigned int by = 0; by < grid.y; by++)                                           \
            for (unsigned int bx = 0; bx < grid.x; bx++)                                       \
                for (unsigned int tx = 0; tx < block.x; tx++) {                                \
                    blockIdx.x = bx; blockIdx.y = by; blockIdx.z = 0;                          \
                    threadIdx.x = tx; threadIdx.y = 0; threadIdx.z = 0;                        \
                    name(*(const Args *)args);                                                 \
                }                                                                              \
    }

/* cellvar.c - programming error and read noise of ReRAM cells, in level steps; see cellvar.h. */
#include "cellvar.h"

int cellvar_ideal(const cellvar_config *c)
{
    return c->program_sigma <= 0.0 && c->read_sigma <= 0.0;
}

double cellvar_g0(const cellvar_config *c)
{
    const double L = (double)((1 << c->bits_per_cell) - 1);
    return c->on_off > 1.0 ? L / (c->on_off - 1.0) : 0.0;
}

void cellvar_program(const cellvar_config *c, const uint8_t *lv, uint8_t *prev, float *err,
                     size_t n, rng_stream *r)
{
    for (size_t i = 0; i < n; i++) {
        if (lv[i] == prev[i]) continue;
        prev[i] = lv[i];
        err[i] = c->program_sigma > 0.0 ? (float)(c->program_sigma * rng_normal(r)) : 0.0f;
    }
}

void cellvar_read(const cellvar_config *c, const uint8_t *lv, const float *err, size_t n,
                  rng_stream *r, float *out)
{
    const double g0 = cellvar_g0(c);
    for (size_t i = 0; i < n; i++) {
        double v = (double)lv[i] + (double)err[i];
        if (c->read_sigma > 0.0) v += c->read_sigma * (g0 + (double)lv[i]) * rng_normal(r);
        out[i] = (float)v;
    }
}

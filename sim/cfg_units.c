/* cfg_units.c - quantities with units ("100ns", "1.28GHz", "64KiB") to canonical values and
 * back. Canonical units: ps, Hz, W, pJ, bytes, mm^2, V, Ohm, F, bytes/s (see cfg.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

typedef struct unit_def {
    const char *sym;
    double factor; /* canonical units per 1 of this unit */
} unit_def;

/* The first entry of each table is the canonical unit; the formatter picks among the units
 * marked by being listed in `pretty` order (largest first). */
static const unit_def u_time[] = {{"ps", 1.0},   {"fs", 1e-3}, {"ns", 1e3}, {"us", 1e6},
                                  {"\xc2\xb5s", 1e6}, {"ms", 1e9}, {"s", 1e12}, {NULL, 0}};
static const unit_def u_freq[] = {{"Hz", 1.0},  {"kHz", 1e3}, {"MHz", 1e6},
                                  {"GHz", 1e9}, {"THz", 1e12}, {NULL, 0}};
static const unit_def u_power[] = {{"W", 1.0},   {"pW", 1e-12}, {"nW", 1e-9}, {"uW", 1e-6},
                                   {"\xc2\xb5W", 1e-6}, {"mW", 1e-3}, {"kW", 1e3}, {NULL, 0}};
static const unit_def u_energy[] = {{"pJ", 1.0},  {"aJ", 1e-6}, {"fJ", 1e-3}, {"nJ", 1e3},
                                    {"uJ", 1e6},  {"\xc2\xb5J", 1e6}, {"mJ", 1e9}, {"J", 1e12},
                                    {NULL, 0}};
static const unit_def u_size[] = {{"B", 1.0},
                                  {"KiB", 1024.0},
                                  {"KB", 1024.0},
                                  {"kB", 1024.0},
                                  {"MiB", 1048576.0},
                                  {"MB", 1048576.0},
                                  {"GiB", 1073741824.0},
                                  {"GB", 1073741824.0},
                                  {"TiB", 1099511627776.0},
                                  {NULL, 0}};
static const unit_def u_area[] = {{"mm2", 1.0},  {"nm2", 1e-12}, {"um2", 1e-6}, {"\xc2\xb5m2", 1e-6},
                                  {"cm2", 100.0}, {"m2", 1e6},   {"mm^2", 1.0}, {"um^2", 1e-6},
                                  {NULL, 0}};
static const unit_def u_voltage[] = {{"V", 1.0}, {"uV", 1e-6}, {"mV", 1e-3}, {"kV", 1e3}, {NULL, 0}};
static const unit_def u_res[] = {{"Ohm", 1.0},  {"ohm", 1.0},   {"\xce\xa9", 1.0},
                                 {"kOhm", 1e3}, {"kohm", 1e3},  {"k\xce\xa9", 1e3},
                                 {"MOhm", 1e6}, {"Mohm", 1e6},  {"M\xce\xa9", 1e6},
                                 {"GOhm", 1e9}, {NULL, 0}};
static const unit_def u_cap[] = {{"F", 1.0},    {"aF", 1e-18}, {"fF", 1e-15}, {"pF", 1e-12},
                                 {"nF", 1e-9},  {"uF", 1e-6},  {NULL, 0}};
static const unit_def u_bw[] = {{"B/s", 1.0},   {"kB/s", 1e3},  {"KB/s", 1e3}, {"MB/s", 1e6},
                                {"GB/s", 1e9},  {"TB/s", 1e12}, {NULL, 0}};

/* Units the dump prefers, largest first (ASCII only, so dumps stay plain). */
static const unit_def p_time[] = {{"s", 1e12}, {"ms", 1e9}, {"us", 1e6}, {"ns", 1e3}, {"ps", 1.0}, {NULL, 0}};
static const unit_def p_freq[] = {{"THz", 1e12}, {"GHz", 1e9}, {"MHz", 1e6}, {"kHz", 1e3}, {"Hz", 1.0}, {NULL, 0}};
static const unit_def p_power[] = {{"kW", 1e3}, {"W", 1.0}, {"mW", 1e-3}, {"uW", 1e-6}, {"nW", 1e-9}, {"pW", 1e-12}, {NULL, 0}};
static const unit_def p_energy[] = {{"J", 1e12}, {"mJ", 1e9}, {"uJ", 1e6}, {"nJ", 1e3}, {"pJ", 1.0}, {"fJ", 1e-3}, {"aJ", 1e-6}, {NULL, 0}};
static const unit_def p_size[] = {{"GiB", 1073741824.0}, {"MiB", 1048576.0}, {"KiB", 1024.0}, {"B", 1.0}, {NULL, 0}};
static const unit_def p_area[] = {{"mm2", 1.0}, {"um2", 1e-6}, {"nm2", 1e-12}, {NULL, 0}};
static const unit_def p_voltage[] = {{"V", 1.0}, {"mV", 1e-3}, {"uV", 1e-6}, {NULL, 0}};
static const unit_def p_res[] = {{"GOhm", 1e9}, {"MOhm", 1e6}, {"kOhm", 1e3}, {"Ohm", 1.0}, {NULL, 0}};
static const unit_def p_cap[] = {{"F", 1.0}, {"uF", 1e-6}, {"nF", 1e-9}, {"pF", 1e-12}, {"fF", 1e-15}, {"aF", 1e-18}, {NULL, 0}};
static const unit_def p_bw[] = {{"TB/s", 1e12}, {"GB/s", 1e9}, {"MB/s", 1e6}, {"kB/s", 1e3}, {"B/s", 1.0}, {NULL, 0}};

typedef struct dim_def {
    const char *name;
    const unit_def *units;
    const unit_def *pretty;
    const char *example;
} dim_def;

static const dim_def dims[CFG_DIM_COUNT_] = {
    [CFG_DIM_NONE] = {"number", NULL, NULL, "1.5"},
    [CFG_DIM_TIME] = {"time", u_time, p_time, "100ns"},
    [CFG_DIM_FREQ] = {"frequency", u_freq, p_freq, "1.28GHz"},
    [CFG_DIM_POWER] = {"power", u_power, p_power, "16mW"},
    [CFG_DIM_ENERGY] = {"energy", u_energy, p_energy, "0.5pJ"},
    [CFG_DIM_SIZE] = {"size", u_size, p_size, "64KiB"},
    [CFG_DIM_AREA] = {"area", u_area, p_area, "0.0096mm2"},
    [CFG_DIM_VOLTAGE] = {"voltage", u_voltage, p_voltage, "2V"},
    [CFG_DIM_RESISTANCE] = {"resistance", u_res, p_res, "6kOhm"},
    [CFG_DIM_CAPACITANCE] = {"capacitance", u_cap, p_cap, "10fF"},
    [CFG_DIM_BANDWIDTH] = {"bandwidth", u_bw, p_bw, "6.4GB/s"},
};

const char *cfg_dim_unit(cfg_dim dim)
{
    if (dim <= CFG_DIM_NONE || dim >= CFG_DIM_COUNT_) return "";
    return dims[dim].units[0].sym;
}

const char *cfg_dim_name(cfg_dim dim)
{
    if (dim < CFG_DIM_NONE || dim >= CFG_DIM_COUNT_) return "?";
    return dims[dim].name;
}

static void list_units(cfg_dim dim, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const unit_def *u = dims[dim].pretty; u->sym && n < len; u++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", u->sym);
}

int cfg_parse_quantity(const char *text, cfg_dim dim, double *out, es_err *err)
{
    const char *s = text;
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return es_fail(err, ES_ECONFIG, "expected a %s, got an empty value", dims[dim].name);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || isnan(v) || isinf(v))
        return es_fail(err, ES_ECONFIG, "expected a %s like '%s', got '%s'", dims[dim].name,
                       dims[dim].example, text);
    if (errno == ERANGE && fabs(v) > 1.0)
        return es_fail(err, ES_ECONFIG, "number out of range in '%s'", text);
    while (*end == ' ') end++;
    char unit[32];
    size_t ul = strlen(end);
    while (ul > 0 && isspace((unsigned char)end[ul - 1])) ul--;
    if (ul >= sizeof unit) ul = sizeof unit - 1;
    memcpy(unit, end, ul);
    unit[ul] = '\0';
    if (dim == CFG_DIM_NONE) {
        if (unit[0]) return es_fail(err, ES_ECONFIG, "unexpected unit '%s' in '%s'", unit, text);
        *out = v;
        return ES_OK;
    }
    if (!unit[0]) {
        if (v == 0.0) { /* zero needs no unit */
            *out = 0.0;
            return ES_OK;
        }
        char units[160];
        list_units(dim, units, sizeof units);
        return es_fail(err, ES_ECONFIG, "missing unit in '%s': a %s needs one of %s (e.g. '%s')",
                       text, dims[dim].name, units, dims[dim].example);
    }
    for (const unit_def *u = dims[dim].units; u->sym; u++) {
        if (strcmp(u->sym, unit) == 0) {
            *out = v * u->factor;
            return ES_OK;
        }
    }
    char units[160];
    list_units(dim, units, sizeof units);
    /* Say what the unit would have been, when it belongs to another dimension. */
    for (int d = CFG_DIM_NONE + 1; d < CFG_DIM_COUNT_; d++) {
        for (const unit_def *u = dims[d].units; u->sym; u++)
            if (strcmp(u->sym, unit) == 0)
                return es_fail(err, ES_ECONFIG,
                               "bad unit '%s' in '%s': that is a %s, expected a %s (%s)", unit,
                               text, dims[d].name, dims[dim].name, units);
    }
    return es_fail(err, ES_ECONFIG, "bad unit '%s' in '%s': expected a %s (%s)", unit, text,
                   dims[dim].name, units);
}

void cfg_format_real(double v, char *buf, size_t len)
{
    /* Shortest digit string that reads back exactly, written without an exponent when the
     * exponent is moderate (so 100 prints as "100", not "1e+02"). */
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    char *ep = strchr(e, 'e');
    int exp10 = ep ? atoi(ep + 1) : 0;
    if (exp10 >= -5 && exp10 < 16) {
        int decimals = prec - 1 - exp10;
        snprintf(buf, len, "%.*f", decimals > 0 ? decimals : 0, v);
        if (strtod(buf, NULL) == v) return;
    }
    /* Large or tiny: mantissa and a plain exponent ("1e7", "2.5e-9"). */
    if (ep) {
        *ep = '\0';
        snprintf(buf, len, "%se%d", e, exp10);
    } else {
        snprintf(buf, len, "%s", e);
    }
}

void cfg_format_quantity(double v, cfg_dim dim, char *buf, size_t len)
{
    if (dim <= CFG_DIM_NONE || dim >= CFG_DIM_COUNT_) {
        cfg_format_real(v, buf, len);
        return;
    }
    if (v == 0.0) {
        snprintf(buf, len, "0%s", dims[dim].units[0].sym);
        return;
    }
    /* Among the units whose scaled value reads back exactly, take the shortest text; on a
     * tie prefer a scaled value in [1, 1000). The canonical unit always reads back. */
    char best[64] = "", num[48], cand[64];
    int best_nice = 0;
    for (const unit_def *u = dims[dim].pretty; u->sym; u++) {
        double scaled = v / u->factor;
        cfg_format_real(scaled, num, sizeof num);
        if (strtod(num, NULL) * u->factor != v) continue;
        snprintf(cand, sizeof cand, "%s%s", num, u->sym);
        int nice = fabs(scaled) >= 1.0 && fabs(scaled) < 1000.0;
        size_t cl = strlen(cand), bl = strlen(best);
        if (!best[0] || cl < bl || (cl == bl && nice && !best_nice)) {
            snprintf(best, sizeof best, "%s", cand);
            best_nice = nice;
        }
    }
    if (!best[0]) {
        cfg_format_real(v, num, sizeof num);
        snprintf(best, sizeof best, "%s%s", num, dims[dim].units[0].sym);
    }
    snprintf(buf, len, "%s", best);
}

/* MuJoCo oracle shim for the Genesis tests.
 *
 * A thin C layer over libmujoco (2.2.x) so the F# tests never read mjModel/mjData through raw
 * struct offsets. Every array of mjModel and mjData is reachable by its MuJoCo name (the X-macro
 * tables of mjxmacro.h), copied to and from float64 buffers. Built by the test project's MSBuild
 * target: cc -shared -fPIC -O2 mujoco_shim.c -lmujoco.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mujoco/mujoco.h>
#include <mujoco/mjxmacro.h>

/* One loaded model and its data. */
typedef struct gs_mj {
  mjModel* m;
  mjData* d;
} gs_mj;

/* Library version as an integer, e.g. 222 for 2.2.2. */
int gs_mj_version(void) { return mj_version(); }

/* Loads an MJCF or URDF file; returns NULL and fills err on failure. */
gs_mj* gs_mj_load(const char* path, char* err, int errlen) {
  if (err && errlen > 0) err[0] = 0;
  mjModel* m = mj_loadXML(path, NULL, err, errlen);
  if (!m) return NULL;
  gs_mj* h = (gs_mj*)malloc(sizeof(gs_mj));
  if (!h) {
    mj_deleteModel(m);
    if (err && errlen > 0) snprintf(err, errlen, "out of memory");
    return NULL;
  }
  h->m = m;
  h->d = mj_makeData(m);
  return h;
}

/* Frees the model and its data. */
void gs_mj_free(gs_mj* h) {
  if (!h) return;
  mj_deleteData(h->d);
  mj_deleteModel(h->m);
  free(h);
}

/* Saves the last loaded XML model as MJCF (MuJoCo keeps it in a global); 0 on success. */
int gs_mj_save_last_xml(gs_mj* h, const char* path, char* err, int errlen) {
  return mj_saveLastXML(path, h->m, err, errlen) ? 0 : -1;
}

/* An int size field of mjModel (nq, nv, nbody, nu, njnt, ngeom, ...); -1 if unknown. */
int gs_mj_size(gs_mj* h, const char* name) {
#define X(n) if (!strcmp(name, #n)) return h->m->n;
  MJMODEL_INTS
#undef X
  return -1;
}

/* Copies n values of a typed array into a float64 buffer. */
#define GS_COPY_OUT(src, out, n)                                         \
  _Generic((src),                                                       \
    mjtNum*:  ({ for (int k = 0; k < (n); k++) (out)[k] = (double)((mjtNum*)(void*)(src))[k]; 0; }),  \
    int*:     ({ for (int k = 0; k < (n); k++) (out)[k] = (double)((int*)(void*)(src))[k]; 0; }),     \
    mjtByte*: ({ for (int k = 0; k < (n); k++) (out)[k] = (double)((mjtByte*)(void*)(src))[k]; 0; }), \
    float*:   ({ for (int k = 0; k < (n); k++) (out)[k] = (double)((float*)(void*)(src))[k]; 0; }),   \
    default:  -3)

/* Copies n float64 values into a typed array (ints and bytes are rounded). */
#define GS_COPY_IN(dst, in, n)                                           \
  _Generic((dst),                                                       \
    mjtNum*:  ({ for (int k = 0; k < (n); k++) ((mjtNum*)(void*)(dst))[k] = (mjtNum)(in)[k]; 0; }),        \
    int*:     ({ for (int k = 0; k < (n); k++) ((int*)(void*)(dst))[k] = (int)((in)[k] < 0 ? (in)[k] - 0.5 : (in)[k] + 0.5); 0; }), \
    mjtByte*: ({ for (int k = 0; k < (n); k++) ((mjtByte*)(void*)(dst))[k] = (mjtByte)((in)[k] + 0.5); 0; }), \
    float*:   ({ for (int k = 0; k < (n); k++) ((float*)(void*)(dst))[k] = (float)(in)[k]; 0; }),          \
    default:  -3)

/* Rows and columns of an mjModel array (e.g. body_inertia: nbody x 3); -1 if unknown. */
int gs_mj_model_dims(gs_mj* h, const char* name, int* rows, int* cols) {
  mjModel* m = h->m;
  MJMODEL_POINTERS_PREAMBLE(m)
#define X(type, n, nr, nc) if (!strcmp(name, #n)) { *rows = m->nr; *cols = nc; return 0; }
  MJMODEL_POINTERS
#undef X
  return -1;
}

/* Copies an mjModel array to out (capacity cap); returns the count, -1 unknown, -2 too small. */
int gs_mj_model_get(gs_mj* h, const char* name, double* out, int cap) {
  mjModel* m = h->m;
  MJMODEL_POINTERS_PREAMBLE(m)
#define X(type, n, nr, nc)                                    \
  if (!strcmp(name, #n)) {                                    \
    int cnt = m->nr * (nc);                                   \
    if (cnt > cap) return -2;                                 \
    int rc = GS_COPY_OUT(m->n, out, cnt);                     \
    return rc < 0 ? rc : cnt;                                 \
  }
  MJMODEL_POINTERS
#undef X
  return -1;
}

/* Overwrites an mjModel array from in (count n must match); returns 0, -1 unknown, -2 size. */
int gs_mj_model_set(gs_mj* h, const char* name, const double* in, int n) {
  mjModel* m = h->m;
  MJMODEL_POINTERS_PREAMBLE(m)
#define X(type, nm, nr, nc)                                   \
  if (!strcmp(name, #nm)) {                                   \
    int cnt = m->nr * (nc);                                   \
    if (cnt != n) return -2;                                  \
    return GS_COPY_IN(m->nm, in, cnt);                        \
  }
  MJMODEL_POINTERS
#undef X
  return -1;
}

/* Rows and columns of an mjData array (e.g. xpos: nbody x 3); -1 if unknown. */
int gs_mj_data_dims(gs_mj* h, const char* name, int* rows, int* cols) {
  mjModel* m = h->m;
  MJDATA_POINTERS_PREAMBLE(m)
#define X(type, n, nr, nc) if (!strcmp(name, #n)) { *rows = m->nr; *cols = nc; return 0; }
  MJDATA_POINTERS
#undef X
  return -1;
}

/* Copies an mjData array to out; returns the count, -1 unknown, -2 too small, -3 not numeric. */
int gs_mj_data_get(gs_mj* h, const char* name, double* out, int cap) {
  mjModel* m = h->m;
  mjData* d = h->d;
  MJDATA_POINTERS_PREAMBLE(m)
#define X(type, n, nr, nc)                                    \
  if (!strcmp(name, #n)) {                                    \
    int cnt = m->nr * (nc);                                   \
    if (cnt > cap) return -2;                                 \
    int rc = GS_COPY_OUT(d->n, out, cnt);                     \
    return rc < 0 ? rc : cnt;                                 \
  }
  MJDATA_POINTERS
#undef X
  return -1;
}

/* Overwrites an mjData array (qpos, qvel, ctrl, qacc, qfrc_applied, xfrc_applied, ...). */
int gs_mj_data_set(gs_mj* h, const char* name, const double* in, int n) {
  mjModel* m = h->m;
  mjData* d = h->d;
  MJDATA_POINTERS_PREAMBLE(m)
#define X(type, nm, nr, nc)                                   \
  if (!strcmp(name, #nm)) {                                   \
    int cnt = m->nr * (nc);                                   \
    if (cnt != n) return -2;                                  \
    return GS_COPY_IN(d->nm, in, cnt);                        \
  }
  MJDATA_POINTERS
#undef X
  return -1;
}

/* A scalar of mjData (ncon, nefc, ne, nf, time, ...) as float64; NaN if unknown. */
double gs_mj_data_scalar(gs_mj* h, const char* name) {
#define X(type, n) if (!strcmp(name, #n)) return (double)h->d->n;
  MJDATA_SCALAR
#undef X
  return strtod("nan", NULL);
}

/* Sets the simulation time. */
void gs_mj_set_time(gs_mj* h, double t) { h->d->time = t; }

/* A scalar option (timestep, integrator, ...) as float64; NaN if unknown. */
double gs_mj_opt_get(gs_mj* h, const char* name) {
#define X(type, n) if (!strcmp(name, #n)) return (double)h->m->opt.n;
  MJOPTION_SCALARS
#undef X
  return strtod("nan", NULL);
}

/* Sets a scalar option (timestep, integrator: 0 Euler, 1 RK4, ...); 0 on success, -1 unknown. */
int gs_mj_opt_set(gs_mj* h, const char* name, double v) {
#define X(type, n) if (!strcmp(name, #n)) { h->m->opt.n = (type)v; return 0; }
  MJOPTION_FLOATS
#undef X
#define X(type, n) if (!strcmp(name, #n)) { h->m->opt.n = (type)(v < 0 ? v - 0.5 : v + 0.5); return 0; }
  MJOPTION_INTS
#undef X
  return -1;
}

/* Copies a vector option (gravity, wind, magnetic, o_solref, o_solimp); returns its length. */
int gs_mj_opt_vec_get(gs_mj* h, const char* name, double* out, int cap) {
#define X(n, len) if (!strcmp(name, #n)) { if ((len) > cap) return -2; for (int k = 0; k < (len); k++) out[k] = h->m->opt.n[k]; return (len); }
  MJOPTION_VECTORS
#undef X
  return -1;
}

/* Sets a vector option (gravity, ...); 0 on success. */
int gs_mj_opt_vec_set(gs_mj* h, const char* name, const double* in, int n) {
#define X(nm, len) if (!strcmp(name, #nm)) { if ((len) != n) return -2; for (int k = 0; k < (len); k++) h->m->opt.nm[k] = in[k]; return 0; }
  MJOPTION_VECTORS
#undef X
  return -1;
}

/* Name of object id of type objtype (mjtObj: 1 body, 3 joint, 5 geom, 19 actuator); "" if none. */
const char* gs_mj_name(gs_mj* h, int objtype, int id) {
  const char* s = mj_id2name(h->m, objtype, id);
  return s ? s : "";
}

/* Id of the named object of type objtype; -1 if none. */
int gs_mj_name2id(gs_mj* h, int objtype, const char* name) {
  return mj_name2id(h->m, objtype, name);
}

/* Resets mjData to qpos0, zero velocity and time 0. */
void gs_mj_reset(gs_mj* h) { mj_resetData(h->m, h->d); }

/* Runs mj_forward (kinematics, mass matrix, bias forces, constraints, qacc). */
void gs_mj_forward(gs_mj* h) { mj_forward(h->m, h->d); }

/* Runs mj_inverse (qfrc_inverse from qpos, qvel, qacc). */
void gs_mj_inverse(gs_mj* h) { mj_inverse(h->m, h->d); }

/* Takes n steps with mj_step. */
void gs_mj_step(gs_mj* h, int n) {
  for (int i = 0; i < n; i++) mj_step(h->m, h->d);
}

/* Writes the dense nv x nv mass matrix (row-major) of the last forward pass into out. */
void gs_mj_full_m(gs_mj* h, double* out) { mj_fullM(h->m, out, h->d->qM); }

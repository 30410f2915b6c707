/* dothi-query.c: evaluates a query tree as sets of fids. Attribute
 * conditions run as bound SQL; each spatial condition loads the other
 * layer's chosen features into memory (GEOS geometries, prepared lazily,
 * in an STR tree) and either probes the target's R-tree from each of them
 * or scans the target, whichever the estimates say is cheaper. */
#define G_LOG_DOMAIN "dothi-query"

#include "config.h"
#include "dothi-query.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"
#include "dothi-expression-private.h"
#include "dothi-format.h"
#include "dothi-layer-info.h"
#include "dothi-progress.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"
#include "dothi-store.h"

#include <geos_c.h>
#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

/* Costs in microseconds a feature, measured on the 1M city (2 cores):
 * one R-tree probe through a prepared statement (with its ten or so
 * results), one read of a row by fid with its test, one row of a
 * sequential scan. Only their ratios matter. */
#define COST_PROBE 13.0
#define COST_FETCH 5.0
#define COST_SCAN  0.5
/* Features between two looks at the cancellable. */
#define CHECK_EVERY 256

static const char *predicate_names[DOTHI_N_SPATIAL_PREDICATES] = {
  "within_distance", "intersects", "contains", "within", "touches", "disjoint",
};

const char *
dothi_spatial_predicate_to_string (DothiSpatialPredicate predicate)
{
  g_return_val_if_fail ((guint) predicate < DOTHI_N_SPATIAL_PREDICATES, NULL);
  return predicate_names[predicate];
}

const char *
dothi_spatial_predicate_to_label (DothiSpatialPredicate predicate)
{
  switch (predicate)
    {
    case DOTHI_SPATIAL_WITHIN_DISTANCE:
      return _("within a distance of");
    case DOTHI_SPATIAL_INTERSECTS:
      return _("intersects");
    case DOTHI_SPATIAL_CONTAINS:
      return _("contains");
    case DOTHI_SPATIAL_WITHIN:
      return _("lies within");
    case DOTHI_SPATIAL_TOUCHES:
      return _("touches");
    case DOTHI_SPATIAL_DISJOINT:
      return _("does not intersect");
    default:
      g_return_val_if_reached (NULL);
    }
}

gboolean
dothi_spatial_predicate_from_string (const char            *name,
                                     DothiSpatialPredicate *predicate)
{
  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; i < DOTHI_N_SPATIAL_PREDICATES; i++)
    if (g_ascii_strcasecmp (name, predicate_names[i]) == 0)
      {
        if (predicate != NULL)
          *predicate = (DothiSpatialPredicate) i;
        return TRUE;
      }
  return FALSE;
}

struct _DothiQuery {
  char            *path;
  char            *text;
  DothiLayerInfo  *info;      /* the target */
  GPtrArray       *layers;    /* DothiLayerInfo*: the project's */
  DothiExpression *expr;      /* NULL: every feature */
  char            *plan;
};

/* ---- parsing -------------------------------------------------------------- */

static const DothiLayerInfo *
find_layer (GPtrArray *layers, const char *name)
{
  g_autofree char *nfc = g_utf8_normalize (name, -1, G_NORMALIZE_NFC);
  g_autofree char *wanted = g_utf8_casefold (nfc != NULL ? nfc : name, -1);

  /* Table names first: a title may repeat another layer's table name. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < layers->len; i++)
      {
        const DothiLayerInfo *info = g_ptr_array_index (layers, i);
        const char *candidate = pass == 0 ? info->name : info->title;
        g_autofree char *cnfc = NULL;
        g_autofree char *folded = NULL;

        if (candidate == NULL)
          continue;
        cnfc = g_utf8_normalize (candidate, -1, G_NORMALIZE_NFC);
        folded = g_utf8_casefold (cnfc != NULL ? cnfc : candidate, -1);
        if (strcmp (folded, wanted) == 0)
          return info;
      }
  return NULL;
}

static const DothiLayerInfo *
resolve_layer (const char *name, gpointer data)
{
  return find_layer (data, name);
}

DothiQuery *
dothi_query_new (const char  *path,
                 const char  *layer,
                 const char  *text,
                 GError     **error)
{
  g_autoptr(DothiSpatialiteStore) store = NULL;
  g_autoptr(GPtrArray) layers = NULL;
  g_autoptr(DothiExpression) expr = NULL;
  const DothiLayerInfo *target;
  g_autofree char *trimmed = NULL;
  DothiQuery *query;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (layer != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  store = dothi_spatialite_store_open (path, DOTHI_STORE_OPEN_READ_ONLY, error);
  if (store == NULL)
    return NULL;
  layers = dothi_store_list_layers (DOTHI_STORE (store), error);
  dothi_spatialite_store_close (store);
  if (layers == NULL)
    return NULL;

  target = find_layer (layers, layer);
  if (target == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: layer name, file name */
                   _("There is no layer “%s” in “%s”"), layer, path);
      return NULL;
    }

  trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  if (trimmed[0] != '\0')
    {
      expr = dothi_expression_parse_spatial (trimmed, target, resolve_layer, layers, error);
      if (expr == NULL)
        return NULL;
    }

  query = g_new0 (DothiQuery, 1);
  query->path = g_strdup (path);
  query->text = g_steal_pointer (&trimmed);
  query->info = dothi_layer_info_copy (target);
  query->layers = g_steal_pointer (&layers);
  query->expr = g_steal_pointer (&expr);
  return query;
}

void
dothi_query_free (DothiQuery *query)
{
  if (query == NULL)
    return;
  g_free (query->path);
  g_free (query->text);
  dothi_layer_info_free (query->info);
  g_ptr_array_unref (query->layers);
  dothi_expression_free (query->expr);
  g_free (query->plan);
  g_free (query);
}

const char *
dothi_query_get_layer (DothiQuery *query)
{
  return query->info->name;
}

const char *
dothi_query_get_text (DothiQuery *query)
{
  return query->text;
}

gboolean
dothi_query_is_spatial (DothiQuery *query)
{
  return query->expr != NULL
         && dothi_expression_node_is_spatial (dothi_expression_get_root (query->expr));
}

const char *
dothi_query_get_plan (DothiQuery *query)
{
  return query->plan;
}


/* ---- plain geometry ------------------------------------------------------- */

/* A geometry as flat parts for the common tests (distance, intersects):
 * decoded from ISO WKB without an allocation a feature once the buffers
 * have grown. Anything near a tie goes to GEOS. */
typedef enum { PART_POINT, PART_LINE, PART_RING } PartKind;

typedef struct {
  PartKind kind;
  guint    start;   /* first point in Shape.xy (pairs) */
  guint    n;       /* points */
  guint    polygon; /* rings of one polygon share it */
  double   box[4];
} Part;

typedef struct {
  GArray  *xy;      /* double pairs */
  GArray  *parts;   /* Part */
  gboolean has_polygons;
  gboolean ok;
} Shape;

/* Distances within this of a threshold are decided by GEOS (metres). */
#define TIE 1e-6

static void
shape_init (Shape *shape)
{
  shape->xy = g_array_new (FALSE, FALSE, sizeof (double));
  shape->parts = g_array_new (FALSE, FALSE, sizeof (Part));
}

static void
shape_clear (Shape *shape)
{
  g_clear_pointer (&shape->xy, g_array_unref);
  g_clear_pointer (&shape->parts, g_array_unref);
}

typedef struct {
  const guint8 *p;
  const guint8 *end;
} Wkb;

static gboolean
wkb_u32 (Wkb *w, guint32 *v)
{
  if (w->end - w->p < 4)
    return FALSE;
  memcpy (v, w->p, 4);
  *v = GUINT32_FROM_LE (*v);
  w->p += 4;
  return TRUE;
}

static void
part_add (Shape *shape, PartKind kind, guint start, guint polygon)
{
  Part part = { kind, start, shape->xy->len / 2 - start, polygon,
                { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE } };
  const double *xy = (const double *) shape->xy->data;

  for (guint i = start; i < start + part.n; i++)
    {
      part.box[0] = MIN (part.box[0], xy[2 * i]);
      part.box[1] = MIN (part.box[1], xy[2 * i + 1]);
      part.box[2] = MAX (part.box[2], xy[2 * i]);
      part.box[3] = MAX (part.box[3], xy[2 * i + 1]);
    }
  if (part.n > 0)
    g_array_append_val (shape->parts, part);
}

static gboolean
wkb_points (Wkb *w, Shape *shape, guint n, guint dims)
{
  if ((gsize) (w->end - w->p) < (gsize) n * dims * 8)
    return FALSE;
  for (guint i = 0; i < n; i++)
    {
      double xy[2];

      memcpy (xy, w->p, 16);
      w->p += dims * 8;
      g_array_append_vals (shape->xy, xy, 2);
    }
  return TRUE;
}

/* ISO WKB, little-endian, as dothi_blob_to_wkb writes it. */
static gboolean
wkb_geometry (Wkb *w, Shape *shape, guint *polygons, int depth)
{
  guint32 type, base, dims, n;

  if (depth > 4 || w->p >= w->end || *w->p != 1)
    return FALSE;
  w->p++;
  if (!wkb_u32 (w, &type))
    return FALSE;
  base = type % 1000;
  dims = type / 1000 == 0 ? 2 : type / 1000 == 3 ? 4 : 3;
  switch (base)
    {
    case 1:
      {
        guint start = shape->xy->len / 2;
        if (!wkb_points (w, shape, 1, dims))
          return FALSE;
        part_add (shape, PART_POINT, start, 0);
        return TRUE;
      }
    case 2:
      {
        guint start = shape->xy->len / 2;
        if (!wkb_u32 (w, &n) || !wkb_points (w, shape, n, dims))
          return FALSE;
        part_add (shape, PART_LINE, start, 0);
        return TRUE;
      }
    case 3:
      {
        guint polygon = (*polygons)++;
        if (!wkb_u32 (w, &n))
          return FALSE;
        shape->has_polygons = TRUE;
        for (guint r = 0; r < n; r++)
          {
            guint32 m;
            guint start = shape->xy->len / 2;

            if (!wkb_u32 (w, &m) || !wkb_points (w, shape, m, dims))
              return FALSE;
            part_add (shape, PART_RING, start, polygon);
          }
        return TRUE;
      }
    case 4:
    case 5:
    case 6:
    case 7:
      if (!wkb_u32 (w, &n))
        return FALSE;
      for (guint i = 0; i < n; i++)
        if (!wkb_geometry (w, shape, polygons, depth + 1))
          return FALSE;
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
shape_decode (Shape *shape, const guint8 *wkb, gsize len)
{
  Wkb w = { wkb, wkb + len };
  guint polygons = 0;

  g_array_set_size (shape->xy, 0);
  g_array_set_size (shape->parts, 0);
  shape->has_polygons = FALSE;
  shape->ok = wkb_geometry (&w, shape, &polygons, 0);
  return shape->ok;
}

static double
point_segment2 (double px, double py, double ax, double ay, double bx, double by)
{
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  double cx, cy;

  t = CLAMP (t, 0, 1);
  cx = ax + t * dx - px;
  cy = ay + t * dy - py;
  return cx * cx + cy * cy;
}

static double
orient (double ax, double ay, double bx, double by, double cx, double cy)
{
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/* Squared distance between segments ab and cd; 0 when they cross. */
static double
segment_segment2 (const double *a, const double *b, const double *c, const double *d)
{
  double o1 = orient (a[0], a[1], b[0], b[1], c[0], c[1]);
  double o2 = orient (a[0], a[1], b[0], b[1], d[0], d[1]);
  double o3 = orient (c[0], c[1], d[0], d[1], a[0], a[1]);
  double o4 = orient (c[0], c[1], d[0], d[1], b[0], b[1]);
  double best;

  if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)))
    return 0;
  best = point_segment2 (a[0], a[1], c[0], c[1], d[0], d[1]);
  best = MIN (best, point_segment2 (b[0], b[1], c[0], c[1], d[0], d[1]));
  best = MIN (best, point_segment2 (c[0], c[1], a[0], a[1], b[0], b[1]));
  best = MIN (best, point_segment2 (d[0], d[1], a[0], a[1], b[0], b[1]));
  return best;
}

/* Even-odd over every ring of @polygon in @shape. */
static gboolean
point_in_polygon (const Shape *shape, guint polygon, double x, double y)
{
  const double *xy = (const double *) shape->xy->data;
  gboolean inside = FALSE;

  for (guint k = 0; k < shape->parts->len; k++)
    {
      const Part *part = &g_array_index (shape->parts, Part, k);

      if (part->kind != PART_RING || part->polygon != polygon)
        continue;
      for (guint i = 0, j = part->n - 1; i < part->n; j = i++)
        {
          const double *pi = xy + 2 * (part->start + i);
          const double *pj = xy + 2 * (part->start + j);

          if ((pi[1] > y) != (pj[1] > y)
              && x < (pj[0] - pi[0]) * (y - pi[1]) / (pj[1] - pi[1]) + pi[0])
            inside = !inside;
        }
    }
  return inside;
}

/* Whether a point of @inner's parts lies inside a polygon of @outer. */
static gboolean
any_point_inside (const Shape *outer, const Shape *inner)
{
  const double *xy = (const double *) inner->xy->data;

  if (!outer->has_polygons)
    return FALSE;
  for (guint k = 0; k < inner->parts->len; k++)
    {
      const Part *part = &g_array_index (inner->parts, Part, k);
      double x = xy[2 * part->start], y = xy[2 * part->start + 1];

      for (guint m = 0; m < outer->parts->len; m++)
        {
          const Part *ring = &g_array_index (outer->parts, Part, m);

          if (ring->kind == PART_RING
              && x >= ring->box[0] && x <= ring->box[2] && y >= ring->box[1] && y <= ring->box[3]
              && point_in_polygon (outer, ring->polygon, x, y))
            return TRUE;
        }
    }
  return FALSE;
}

/* The distance between @a and @b, exact enough away from ties; the
 * search stops as soon as it is known to be at most @stop. */
static double
shape_distance (const Shape *a, const Shape *b, double stop)
{
  const double *axy = (const double *) a->xy->data;
  const double *bxy = (const double *) b->xy->data;
  double best2 = G_MAXDOUBLE;
  double stop2 = stop * stop;

  if (any_point_inside (a, b) || any_point_inside (b, a))
    return 0;
  for (guint i = 0; i < a->parts->len; i++)
    {
      const Part *pa = &g_array_index (a->parts, Part, i);

      for (guint j = 0; j < b->parts->len; j++)
        {
          const Part *pb = &g_array_index (b->parts, Part, j);
          double gap_x = MAX (0, MAX (pa->box[0] - pb->box[2], pb->box[0] - pa->box[2]));
          double gap_y = MAX (0, MAX (pa->box[1] - pb->box[3], pb->box[1] - pa->box[3]));

          if (gap_x * gap_x + gap_y * gap_y >= best2)
            continue;
          for (guint s = 0; s < MAX (pa->n - 1, 1); s++)
            {
              const double *p0 = axy + 2 * (pa->start + s);
              const double *p1 = pa->n > 1 ? p0 + 2 : p0;
              double sx0 = MIN (p0[0], p1[0]), sx1 = MAX (p0[0], p1[0]);
              double sy0 = MIN (p0[1], p1[1]), sy1 = MAX (p0[1], p1[1]);

              gap_x = MAX (0, MAX (sx0 - pb->box[2], pb->box[0] - sx1));
              gap_y = MAX (0, MAX (sy0 - pb->box[3], pb->box[1] - sy1));
              if (gap_x * gap_x + gap_y * gap_y >= best2)
                continue;
              for (guint t = 0; t < MAX (pb->n - 1, 1); t++)
                {
                  const double *q0 = bxy + 2 * (pb->start + t);
                  const double *q1 = pb->n > 1 ? q0 + 2 : q0;
                  double d2 = segment_segment2 (p0, p1, q0, q1);

                  if (d2 < best2)
                    {
                      best2 = d2;
                      if (best2 <= stop2)
                        return sqrt (best2);
                    }
                }
            }
        }
    }
  return sqrt (best2);
}


/* For a single point against a polygonal shape: 1 strictly inside, 0
 * clearly outside, -1 on (or within TIE of) the boundary. */
static int
point_polygon (const Shape *point, const Shape *area)
{
  const Part *p;
  double x, y;
  gboolean inside = FALSE;

  if (point->parts->len != 1 || !area->has_polygons)
    return -1;
  p = &g_array_index (point->parts, Part, 0);
  if (p->kind != PART_POINT)
    return -1;
  for (guint k = 0; k < area->parts->len; k++)
    if (g_array_index (area->parts, Part, k).kind != PART_RING)
      return -1;
  x = ((const double *) point->xy->data)[0];
  y = ((const double *) point->xy->data)[1];
  if (shape_distance (point, area, -1) <= TIE)
    {
      /* shape_distance counts the inside as 0: tell the edge apart. */
      const double *xy = (const double *) area->xy->data;

      for (guint k = 0; k < area->parts->len; k++)
        {
          const Part *ring = &g_array_index (area->parts, Part, k);

          for (guint i = 0; i + 1 < ring->n; i++)
            {
              const double *a = xy + 2 * (ring->start + i);
              if (point_segment2 (x, y, a[0], a[1], a[2], a[3]) <= TIE * TIE)
                return -1;
            }
        }
    }
  for (guint k = 0; k < area->parts->len && !inside; k++)
    {
      const Part *ring = &g_array_index (area->parts, Part, k);

      if (x >= ring->box[0] && x <= ring->box[2] && y >= ring->box[1] && y <= ring->box[3]
          && point_in_polygon (area, ring->polygon, x, y))
        inside = TRUE;
    }
  return inside ? 1 : 0;
}

/* ---- running -------------------------------------------------------------- */

typedef struct {
  DothiQuery         *query;
  sqlite3            *db;
  GEOSContextHandle_t geos;
  GEOSWKBReader      *reader;
  GCancellable       *cancellable;
  DothiProgressFunc   progress;
  gpointer            progress_data;
  GString            *plan;
  DothiFidSet        *all;          /* every target fid, read once */
  gboolean            has_rtree;
  guint               n_spatial;    /* spatial conditions in the tree */
  guint               n_done;       /* of them finished */
  gint64              last_report;
  GByteArray         *wkb;          /* scratch */
  Shape               target;       /* scratch: the target being tested */
} Run;

static void
set_db_error (Run *run, const char *layer, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
    return;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: layer name, SQLite's message */
               _("Cannot query layer “%s”: %s"), layer, sqlite3_errmsg (run->db));
}

static void
report (Run *run, double fraction_of_step, gboolean force)
{
  gint64 now;
  double fraction;

  if (run->progress == NULL)
    return;
  now = g_get_monotonic_time ();
  if (!force && now - run->last_report < 50000)
    return;
  run->last_report = now;
  fraction = run->n_spatial == 0 ? fraction_of_step
             : (run->n_done + CLAMP (fraction_of_step, 0, 1)) / run->n_spatial;
  run->progress (CLAMP (fraction, 0, 1), NULL, run->progress_data);
}

static gboolean
check_cancel (Run *run, GError **error)
{
  return !g_cancellable_set_error_if_cancelled (run->cancellable, error);
}

static int
progress_handler (void *data)
{
  return g_cancellable_is_cancelled (data) ? 1 : 0;
}

/* Reads the bounding box a SpatiaLite blob carries in its header. */
static gboolean
blob_mbr (const guint8 *blob, int len, double mbr[4])
{
  gboolean little;

  if (blob == NULL || len < 45 || blob[0] != 0x00 || blob[38] != 0x7C
      || (blob[1] != 0x00 && blob[1] != 0x01))
    return FALSE;
  little = blob[1] == 0x01;
  for (int i = 0; i < 4; i++)
    {
      guint64 bits;

      memcpy (&bits, blob + 6 + 8 * i, 8);
      bits = little ? GUINT64_FROM_LE (bits) : GUINT64_FROM_BE (bits);
      memcpy (&mbr[i], &bits, 8);
    }
  return TRUE;
}

static GEOSGeometry *
blob_to_geos (Run *run, const guint8 *blob, int len)
{
  if (!dothi_blob_to_wkb (blob, (gsize) len, run->wkb, NULL))
    return NULL;
  return GEOSWKBReader_read_r (run->geos, run->reader, run->wkb->data, run->wkb->len);
}

static DothiFidSet *
select_fids (Run *run, const char *table, const DothiExprNode *cond, GError **error)
{
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autofree char *where = NULL;
  int rc;

  if (cond != NULL)
    {
      where = dothi_expression_node_to_sql (cond, NULL, &params);
      sql = sqlite3_mprintf ("SELECT fid FROM \"%w\" WHERE %s ORDER BY fid", table, where);
    }
  else
    sql = sqlite3_mprintf ("SELECT fid FROM \"%w\" ORDER BY fid", table);
  if (sqlite3_prepare_v2 (run->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return NULL;
    }
  if (params != NULL && !dothi_expression_bind (stmt, 1, params, error))
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (fids, fid);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (run, table, error);
      return NULL;
    }
  /* Already in order and unique: the fid is the rowid. */
  return dothi_fid_set_new_sorted ((const gint64 *) fids->data, fids->len);
}

static DothiFidSet *
all_fids (Run *run, GError **error)
{
  if (run->all == NULL)
    run->all = select_fids (run, run->query->info->name, NULL, error);
  return run->all != NULL ? dothi_fid_set_ref (run->all) : NULL;
}

/* The other layer's features that count, in memory. */
typedef struct {
  gint64                      fid;
  double                      env[4];   /* bbox grown by the distance */
  gsize                       offset;   /* blob in OtherSet.arena */
  int                         len;
  GEOSGeometry               *geom;     /* decoded on first use */
  const GEOSPreparedGeometry *prep;
  Shape                       shape;    /* decoded on first use */
  gboolean                    bad;      /* could not be decoded */
} OtherFeature;

typedef struct {
  GArray      *items;      /* OtherFeature */
  GByteArray  *arena;
  /* A uniform grid over the grown boxes, in CSR form: the items of cell
   * c are refs[start[c] .. start[c + 1]); boxes spanning many cells sit
   * in big instead. */
  double       grid_x0, grid_y0, cell_w, cell_h;
  guint        nx, ny;
  guint       *start;
  guint       *refs;
  GArray      *big;        /* guint */
  guint       *stamp;      /* per item: the last query that met it */
  guint        query_id;
  double       extent[4];
  sqlite3_stmt *fetch;     /* a geometry by fid, when boxes came from the R-tree */
} OtherSet;

static void
other_set_clear (Run *run, OtherSet *set)
{
  g_clear_pointer (&set->start, g_free);
  g_clear_pointer (&set->refs, g_free);
  g_clear_pointer (&set->stamp, g_free);
  g_clear_pointer (&set->big, g_array_unref);
  if (set->items != NULL)
    for (guint i = 0; i < set->items->len; i++)
      {
        OtherFeature *o = &g_array_index (set->items, OtherFeature, i);

        if (o->prep != NULL)
          GEOSPreparedGeom_destroy_r (run->geos, o->prep);
        if (o->geom != NULL)
          GEOSGeom_destroy_r (run->geos, o->geom);
        shape_clear (&o->shape);
      }
  g_clear_pointer (&set->fetch, sqlite3_finalize);
  g_clear_pointer (&set->items, g_array_unref);
  g_clear_pointer (&set->arena, g_byte_array_unref);
}

static gboolean build_tree (Run *run, OtherSet *set);

/* Whether @table has SpatiaLite's R-tree idx_<table>_geom (a virtual
 * table: sqlite3_table_column_metadata() does not see those). */
static gboolean
has_rtree (sqlite3 *db, const char *table)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *name = g_strdup_printf ("idx_%s_geom", table);
  gboolean found = FALSE;

  if (sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"
                          " AND sql LIKE '%virtual table%using rtree%'", -1, &stmt, NULL)
      == SQLITE_OK)
    {
      sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
      found = sqlite3_step (stmt) == SQLITE_ROW;
    }
  return found;
}

static gboolean
other_has_rtree (Run *run, const char *table)
{
  return has_rtree (run->db, table);
}

static float
be_float (const guint8 *p)
{
  guint32 bits = ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
  float f;

  memcpy (&f, &bits, 4);
  return f;
}

static gint64
be_int64 (const guint8 *p)
{
  guint64 v = 0;

  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return (gint64) v;
}

/* The leaves of a two-dimensional SQLite R-tree read straight from its
 * node table (the format of SQLite's rtree.c: a node is a 2-byte depth,
 * used in the root only, a 2-byte cell count and cells of an 8-byte id and
 * four 4-byte floats, all big-endian): a few milliseconds where stepping
 * the virtual table costs tens. FALSE, with nothing added, when the nodes
 * do not read as such a tree; the caller then steps the table. */
static gboolean
read_rtree_leaves (Run *run, const char *table, DothiFidSet *keep, double grow, OtherSet *set)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = sqlite3_mprintf ("SELECT nodeno, data FROM \"idx_%w_geom_node\"",
                                                table);
  g_autoptr(GHashTable) nodes = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                       g_free, (GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) level = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (gint64));
  GBytes *root;
  gsize len;
  const guint8 *data;
  int depth;
  gint64 one = 1;
  guint before = set->items->len;

  if (sqlite3_prepare_v2 (run->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return FALSE;
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      gint64 *key = g_new (gint64, 1);

      *key = sqlite3_column_int64 (stmt, 0);
      g_hash_table_insert (nodes, key, g_bytes_new (sqlite3_column_blob (stmt, 1),
                                                    (gsize) sqlite3_column_bytes (stmt, 1)));
    }
  root = g_hash_table_lookup (nodes, &one);
  if (root == NULL || (data = g_bytes_get_data (root, &len), len < 4))
    return FALSE;
  depth = (data[0] << 8) | data[1];
  if (depth > 40)
    return FALSE;
  g_array_append_val (level, one);
  for (int d = depth; d >= 0; d--)
    {
      g_array_set_size (next, 0);
      for (guint i = 0; i < level->len; i++)
        {
          GBytes *node = g_hash_table_lookup (nodes, &g_array_index (level, gint64, i));
          guint n;

          if (node == NULL)
            goto bad;
          data = g_bytes_get_data (node, &len);
          if (len < 4)
            goto bad;
          n = (data[2] << 8) | data[3];
          if (4 + (gsize) n * 24 > len)
            goto bad;
          for (guint c = 0; c < n; c++)
            {
              const guint8 *cell = data + 4 + 24 * c;
              gint64 id = be_int64 (cell);
              OtherFeature o = { 0, };

              if (d > 0)
                {
                  g_array_append_val (next, id);
                  continue;
                }
              if (keep != NULL && !dothi_fid_set_contains (keep, id))
                continue;
              o.fid = id;
              o.env[0] = be_float (cell + 8) - grow;
              o.env[2] = be_float (cell + 12) + grow;
              o.env[1] = be_float (cell + 16) - grow;
              o.env[3] = be_float (cell + 20) + grow;
              if (!(o.env[0] <= o.env[2] && o.env[1] <= o.env[3]))
                goto bad;
              o.len = -1;
              g_array_append_val (set->items, o);
              set->extent[0] = MIN (set->extent[0], o.env[0]);
              set->extent[1] = MIN (set->extent[1], o.env[1]);
              set->extent[2] = MAX (set->extent[2], o.env[2]);
              set->extent[3] = MAX (set->extent[3], o.env[3]);
            }
        }
      {
        GArray *swap = level;
        level = next;
        next = swap;
      }
    }
  return TRUE;

bad:
  g_array_set_size (set->items, before);
  set->extent[0] = set->extent[1] = G_MAXDOUBLE;
  set->extent[2] = set->extent[3] = -G_MAXDOUBLE;
  return FALSE;
}

/* The boxes of the other layer's features from its R-tree, without
 * reading a geometry: those are read by fid when a test needs them, so a
 * layer of large polygons costs what its few candidates cost. */
static gboolean
load_other_boxes (Run                 *run,
                  const DothiExprNode *node,
                  double               grow,
                  OtherSet            *set,
                  GError             **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(DothiSqlStr) fetch = NULL;
  g_autoptr(DothiFidSet) keep = NULL;
  const char *table = node->column;
  int rc;

  if (node->a != NULL)
    {
      keep = select_fids (run, table, node->a, error);
      if (keep == NULL)
        return FALSE;
    }
  fetch = sqlite3_mprintf ("SELECT geom FROM \"%w\" WHERE fid = ?1", table);
  if (sqlite3_prepare_v2 (run->db, fetch, -1, &set->fetch, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return FALSE;
    }
  {
    gint64 t = g_get_monotonic_time ();
    gboolean ok = read_rtree_leaves (run, table, keep, grow, set);
    g_debug ("R-tree of %s read in %.1f ms", table, (g_get_monotonic_time () - t) / 1000.0);
    if (ok)
      return TRUE;
  }
  sql = sqlite3_mprintf ("SELECT pkid, xmin, ymin, xmax, ymax FROM \"idx_%w_geom\"", table);
  if (sqlite3_prepare_v2 (run->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return FALSE;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      OtherFeature o = { 0, };

      o.fid = sqlite3_column_int64 (stmt, 0);
      if (keep != NULL && !dothi_fid_set_contains (keep, o.fid))
        continue;
      o.env[0] = sqlite3_column_double (stmt, 1) - grow;
      o.env[1] = sqlite3_column_double (stmt, 2) - grow;
      o.env[2] = sqlite3_column_double (stmt, 3) + grow;
      o.env[3] = sqlite3_column_double (stmt, 4) + grow;
      o.len = -1;   /* not read yet */
      g_array_append_val (set->items, o);
      set->extent[0] = MIN (set->extent[0], o.env[0]);
      set->extent[1] = MIN (set->extent[1], o.env[1]);
      set->extent[2] = MAX (set->extent[2], o.env[2]);
      set->extent[3] = MAX (set->extent[3], o.env[3]);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (run, table, error);
      return FALSE;
    }
  return TRUE;
}

/* Reads a feature's geometry into the arena if the boxes came first. */
static gboolean
other_blob (OtherSet *set, OtherFeature *o)
{
  gboolean ok = FALSE;

  if (o->len >= 0)
    return TRUE;
  sqlite3_bind_int64 (set->fetch, 1, o->fid);
  if (sqlite3_step (set->fetch) == SQLITE_ROW && sqlite3_column_bytes (set->fetch, 0) > 0)
    {
      o->offset = set->arena->len;
      o->len = sqlite3_column_bytes (set->fetch, 0);
      g_byte_array_append (set->arena, sqlite3_column_blob (set->fetch, 0), (guint) o->len);
      ok = TRUE;
    }
  sqlite3_reset (set->fetch);
  if (!ok)
    o->bad = TRUE;
  return ok;
}

static gboolean
load_other (Run                 *run,
            const DothiExprNode *node,
            double               grow,
            OtherSet            *set,
            GError             **error)
{
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autofree char *where = NULL;
  const char *table = node->column;
  int rc;

  set->items = g_array_new (FALSE, FALSE, sizeof (OtherFeature));
  set->arena = g_byte_array_new ();
  set->extent[0] = set->extent[1] = G_MAXDOUBLE;
  set->extent[2] = set->extent[3] = -G_MAXDOUBLE;

  if (other_has_rtree (run, table))
    {
      gint64 t;
      if (!load_other_boxes (run, node, grow, set, error))
        return FALSE;
      t = g_get_monotonic_time ();
      build_tree (run, set);
      g_debug ("grid of %s built in %.1f ms", table, (g_get_monotonic_time () - t) / 1000.0);
      return TRUE;
    }
  if (node->a != NULL)
    {
      where = dothi_expression_node_to_sql (node->a, NULL, &params);
      sql = sqlite3_mprintf ("SELECT fid, geom FROM \"%w\" WHERE geom IS NOT NULL AND (%s)",
                             table, where);
    }
  else
    sql = sqlite3_mprintf ("SELECT fid, geom FROM \"%w\" WHERE geom IS NOT NULL", table);
  if (sqlite3_prepare_v2 (run->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return FALSE;
    }
  if (params != NULL && !dothi_expression_bind (stmt, 1, params, error))
    return FALSE;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const guint8 *blob = sqlite3_column_blob (stmt, 1);
      int len = sqlite3_column_bytes (stmt, 1);
      OtherFeature o = { 0, };
      double mbr[4];

      if (!blob_mbr (blob, len, mbr))
        continue;
      o.fid = sqlite3_column_int64 (stmt, 0);
      o.env[0] = mbr[0] - grow;
      o.env[1] = mbr[1] - grow;
      o.env[2] = mbr[2] + grow;
      o.env[3] = mbr[3] + grow;
      o.offset = set->arena->len;
      o.len = len;
      g_byte_array_append (set->arena, blob, (guint) len);
      g_array_append_val (set->items, o);
      set->extent[0] = MIN (set->extent[0], o.env[0]);
      set->extent[1] = MIN (set->extent[1], o.env[1]);
      set->extent[2] = MAX (set->extent[2], o.env[2]);
      set->extent[3] = MAX (set->extent[3], o.env[3]);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (run, table, error);
      return FALSE;
    }

  return build_tree (run, set);
}

/* Cells a box spans, clamped to the grid. */
static void
grid_span (const OtherSet *set, const double box[4], guint *i0, guint *j0, guint *i1, guint *j1)
{
  double fx0 = floor ((box[0] - set->grid_x0) / set->cell_w);
  double fy0 = floor ((box[1] - set->grid_y0) / set->cell_h);
  double fx1 = floor ((box[2] - set->grid_x0) / set->cell_w);
  double fy1 = floor ((box[3] - set->grid_y0) / set->cell_h);

  *i0 = (guint) CLAMP (fx0, 0, set->nx - 1);
  *j0 = (guint) CLAMP (fy0, 0, set->ny - 1);
  *i1 = (guint) CLAMP (fx1, 0, set->nx - 1);
  *j1 = (guint) CLAMP (fy1, 0, set->ny - 1);
}

/* About one cell an item, shaped like the extent; an item spanning more
 * than 16 cells is looked at by every query instead. */
static gboolean
build_tree (Run *run, OtherSet *set)
{
  guint n = set->items->len;
  double w = MAX (set->extent[2] - set->extent[0], 1e-6);
  double h = MAX (set->extent[3] - set->extent[1], 1e-6);
  double cells = CLAMP ((double) n, 1, 4e6);
  guint n_cells, *fill;

  set->nx = (guint) CLAMP (ceil (sqrt (cells * w / h)), 1, 4096);
  set->ny = (guint) CLAMP (ceil (cells / set->nx), 1, 4096);
  set->grid_x0 = set->extent[0];
  set->grid_y0 = set->extent[1];
  set->cell_w = w / set->nx;
  set->cell_h = h / set->ny;
  n_cells = set->nx * set->ny;
  set->start = g_new0 (guint, n_cells + 1);
  set->big = g_array_new (FALSE, FALSE, sizeof (guint));
  set->stamp = g_new0 (guint, MAX (n, 1));

  for (int pass = 0; pass < 2; pass++)
    {
      if (pass == 1)
        {
          for (guint c = 0; c < n_cells; c++)
            set->start[c + 1] += set->start[c];
          set->refs = g_new (guint, MAX (set->start[n_cells], 1));
          fill = g_memdup2 (set->start, n_cells * sizeof (guint));
        }
      for (guint k = 0; k < n; k++)
        {
          const OtherFeature *o = &g_array_index (set->items, OtherFeature, k);
          guint i0, j0, i1, j1;

          grid_span (set, o->env, &i0, &j0, &i1, &j1);
          if ((guint64) (i1 - i0 + 1) * (j1 - j0 + 1) > 16)
            {
              if (pass == 0)
                g_array_append_val (set->big, k);
              continue;
            }
          for (guint j = j0; j <= j1; j++)
            for (guint i = i0; i <= i1; i++)
              {
                guint c = j * set->nx + i;

                if (pass == 0)
                  set->start[c + 1]++;
                else
                  set->refs[fill[c]++] = k;
              }
        }
    }
  g_free (fill);
  return TRUE;
}

/* The items whose grown boxes may meet @box, each once, into @hits. */
static void
grid_query (OtherSet *set, const double box[4], GPtrArray *hits)
{
  guint i0, j0, i1, j1;
  guint id = ++set->query_id;

  g_ptr_array_set_size (hits, 0);
  if (id == 0)
    {
      /* Wrapped: forget every stamp. */
      memset (set->stamp, 0, set->items->len * sizeof (guint));
      id = set->query_id = 1;
    }
  grid_span (set, box, &i0, &j0, &i1, &j1);
  for (guint j = j0; j <= j1; j++)
    for (guint i = i0; i <= i1; i++)
      {
        guint c = j * set->nx + i;

        for (guint r = set->start[c]; r < set->start[c + 1]; r++)
          {
            guint k = set->refs[r];

            if (set->stamp[k] != id)
              {
                set->stamp[k] = id;
                g_ptr_array_add (hits, &g_array_index (set->items, OtherFeature, k));
              }
          }
      }
  for (guint b = 0; b < set->big->len; b++)
    g_ptr_array_add (hits, &g_array_index (set->items, OtherFeature,
                                           g_array_index (set->big, guint, b)));
}

static const GEOSPreparedGeometry *
other_prepared (Run *run, OtherSet *set, OtherFeature *o)
{
  if (o->prep == NULL && !o->bad && other_blob (set, o))
    {
      o->geom = blob_to_geos (run, set->arena->data + o->offset, o->len);
      if (o->geom == NULL)
        o->bad = TRUE;
      else
        o->prep = GEOSPrepare_r (run->geos, o->geom);
      if (o->prep == NULL)
        o->bad = TRUE;
    }
  return o->prep;
}

typedef struct {
  const DothiExprNode *node;
  OtherSet             other;
  GPtrArray           *hits;     /* OtherFeature* of one STR tree query */
  gint64               tested;   /* exact tests */
  gint64               geos_tests; /* of them left to GEOS */
  gint64               failed;   /* geometries GEOS could not read or test */
} Spatial;


static const Shape *
other_shape (Run *run, OtherSet *set, OtherFeature *o)
{
  if (o->shape.xy == NULL)
    {
      shape_init (&o->shape);
      if (!other_blob (set, o)
          || !dothi_blob_to_wkb (set->arena->data + o->offset, (gsize) o->len, run->wkb, NULL))
        o->shape.ok = FALSE;
      else
        shape_decode (&o->shape, run->wkb->data, run->wkb->len);
    }
  return o->shape.ok ? &o->shape : NULL;
}

/* GEOS's answer for one pair: 1, 0, or 2 on failure. */
static char
geos_test (Run *run, Spatial *sp, OtherFeature *o, const GEOSGeometry *t)
{
  const GEOSPreparedGeometry *p = other_prepared (run, &sp->other, o);

  if (p == NULL || t == NULL)
    return 2;
  sp->geos_tests++;
  switch (sp->node->predicate)
    {
    case DOTHI_SPATIAL_WITHIN_DISTANCE:
      return sp->node->distance > 0
             ? GEOSPreparedDistanceWithin_r (run->geos, p, t, sp->node->distance)
             : GEOSPreparedIntersects_r (run->geos, p, t);
    case DOTHI_SPATIAL_CONTAINS:
      /* target contains other ⇔ other within target */
      return GEOSPreparedWithin_r (run->geos, p, t);
    case DOTHI_SPATIAL_WITHIN:
      return GEOSPreparedContains_r (run->geos, p, t);
    case DOTHI_SPATIAL_TOUCHES:
      return GEOSPreparedTouches_r (run->geos, p, t);
    case DOTHI_SPATIAL_INTERSECTS:
    case DOTHI_SPATIAL_DISJOINT:
    default:
      return GEOSPreparedIntersects_r (run->geos, p, t);
    }
}

/* Whether the target row's geometry (a SpatiaLite blob) meets the
 * condition with at least one of the other features. Disjoint is tested
 * as intersects; the caller inverts it. Distances and intersections are
 * decided on plain coordinates unless they are within TIE of the
 * threshold; the rest, and every tie, by GEOS. */
static gboolean
test_row (Run *run, Spatial *sp, const guint8 *blob, int len)
{
  GEOSGeometry *t = NULL;
  gboolean t_read = FALSE;
  gboolean met = FALSE;
  gboolean fast;
  double mbr[4];
  double d = sp->node->predicate == DOTHI_SPATIAL_WITHIN_DISTANCE ? sp->node->distance : 0;

  if (!blob_mbr (blob, len, mbr))
    return FALSE;
  if (mbr[0] > sp->other.extent[2] || mbr[2] < sp->other.extent[0]
      || mbr[1] > sp->other.extent[3] || mbr[3] < sp->other.extent[1])
    return FALSE;

  grid_query (&sp->other, mbr, sp->hits);
  if (sp->hits->len == 0)
    return FALSE;

  if (!dothi_blob_to_wkb (blob, (gsize) len, run->wkb, NULL))
    {
      sp->failed++;
      return FALSE;
    }
  fast = shape_decode (&run->target, run->wkb->data, run->wkb->len);

  for (guint i = 0; i < sp->hits->len && !met; i++)
    {
      OtherFeature *o = g_ptr_array_index (sp->hits, i);
      const Shape *os;
      char r;

      if (o->env[0] > mbr[2] || o->env[2] < mbr[0] || o->env[1] > mbr[3] || o->env[3] < mbr[1])
        continue;
      sp->tested++;
      if (fast && (os = other_shape (run, &sp->other, o)) != NULL)
        {
          DothiSpatialPredicate pred = sp->node->predicate;

          if (pred == DOTHI_SPATIAL_WITHIN_DISTANCE || pred == DOTHI_SPATIAL_INTERSECTS
              || pred == DOTHI_SPATIAL_DISJOINT)
            {
              double dist = shape_distance (&run->target, os, MAX (d - TIE, 0));

              if (d >= TIE && dist <= d - TIE)
                {
                  met = TRUE;
                  continue;
                }
              if (dist > d + TIE)
                continue;
            }
          else if (pred == DOTHI_SPATIAL_WITHIN || pred == DOTHI_SPATIAL_CONTAINS)
            {
              /* A point within a polygon, or a polygon containing one. */
              int inside = pred == DOTHI_SPATIAL_WITHIN ? point_polygon (&run->target, os)
                                                        : point_polygon (os, &run->target);
              if (inside == 1)
                {
                  met = TRUE;
                  continue;
                }
              if (inside == 0)
                continue;
            }
        }
      if (!t_read)
        {
          /* run->wkb still holds the target: shapes of the other side
           * are decoded from the arena into it only before this point
           * when fast, so read it again. */
          dothi_blob_to_wkb (blob, (gsize) len, run->wkb, NULL);
          t = GEOSWKBReader_read_r (run->geos, run->reader, run->wkb->data, run->wkb->len);
          t_read = TRUE;
        }
      r = geos_test (run, sp, o, t);
      if (r == 2)
        sp->failed++;
      met = r == 1;
    }
  if (t != NULL)
    GEOSGeom_destroy_r (run->geos, t);
  return met;
}

static void
plan_line (Run *run, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
plan_line (Run *run, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_string_append_vprintf (run->plan, format, args);
  va_end (args);
  g_string_append_c (run->plan, '\n');
}

/* Drives from the target: every target row (or those of @within_set, read
 * by fid when they are few) against the other features' tree. */
static DothiFidSet *
drive_from_target (Run *run, Spatial *sp, DothiFidSet *within_set, gboolean by_fid,
                   GError **error)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  const char *table = run->query->info->name;
  guint total = within_set != NULL ? dothi_fid_set_get_size (within_set)
                                 : (guint) MAX (run->query->info->feature_count, 1);
  guint n = 0;
  int rc;

  if (by_fid)
    sql = sqlite3_mprintf ("SELECT fid, geom FROM \"%w\" WHERE fid = ?1", table);
  else
    sql = sqlite3_mprintf ("SELECT fid, geom FROM \"%w\"", table);
  if (sqlite3_prepare_v2 (run->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return NULL;
    }

  if (by_fid)
    {
      guint count;
      const gint64 *fids = dothi_fid_set_get_fids (within_set, &count);

      for (guint i = 0; i < count; i++)
        {
          if (i % CHECK_EVERY == 0)
            {
              if (!check_cancel (run, error))
                return NULL;
              report (run, (double) i / total, FALSE);
            }
          sqlite3_bind_int64 (stmt, 1, fids[i]);
          rc = sqlite3_step (stmt);
          if (rc == SQLITE_ROW)
            {
              if (test_row (run, sp, sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1)))
                g_array_append_val (out, fids[i]);
            }
          else if (rc != SQLITE_DONE)
            {
              set_db_error (run, table, error);
              return NULL;
            }
          sqlite3_reset (stmt);
        }
    }
  else
    {
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          gint64 fid = sqlite3_column_int64 (stmt, 0);

          if (++n % CHECK_EVERY == 0)
            {
              if (!check_cancel (run, error))
                return NULL;
              report (run, (double) n / total, FALSE);
            }
          if (within_set != NULL && !dothi_fid_set_contains (within_set, fid))
            continue;
          if (test_row (run, sp, sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1)))
            g_array_append_val (out, fid);
        }
      if (rc != SQLITE_DONE)
        {
          set_db_error (run, table, error);
          return NULL;
        }
    }
  return dothi_fid_set_new_sorted ((const gint64 *) out->data, out->len);
}

/* Drives from the other side: each of its features asks the target's
 * R-tree for candidates within its grown box. */
static DothiFidSet *
drive_from_other (Run *run, Spatial *sp, DothiFidSet *within_set, GError **error)
{
  g_autoptr(sqlite3_stmt) probe = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  g_autoptr(GArray) found = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(DothiFidSet) candidates = NULL;
  const char *table = run->query->info->name;
  GArray *items = sp->other.items;
  gint64 t0 = g_get_monotonic_time ();
  int rc;

  sql = sqlite3_mprintf ("SELECT pkid FROM \"idx_%w_geom\" WHERE xmin <= ?3 AND xmax >= ?1"
                         " AND ymin <= ?4 AND ymax >= ?2", table);
  if (sqlite3_prepare_v2 (run->db, sql, -1, &probe, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return NULL;
    }
  for (guint i = 0; i < items->len; i++)
    {
      const OtherFeature *o = &g_array_index (items, OtherFeature, i);

      if (i % CHECK_EVERY == 0)
        {
          if (!check_cancel (run, error))
            return NULL;
          report (run, 0.3 * i / items->len, FALSE);
        }
      for (int k = 0; k < 4; k++)
        sqlite3_bind_double (probe, k + 1, o->env[k]);
      while ((rc = sqlite3_step (probe)) == SQLITE_ROW)
        {
          gint64 fid = sqlite3_column_int64 (probe, 0);

          if (within_set == NULL || dothi_fid_set_contains (within_set, fid))
            g_array_append_val (found, fid);
        }
      if (rc != SQLITE_DONE)
        {
          set_db_error (run, table, error);
          return NULL;
        }
      sqlite3_reset (probe);
    }
  candidates = dothi_fid_set_new_take (g_steal_pointer (&found));
  g_debug ("%u probes of %s's R-tree in %.1f ms", items->len, table,
           (g_get_monotonic_time () - t0) / 1000.0);

  {
    /* Many candidates: one pass over the table beats reading each. */
    guint n = dothi_fid_set_get_size (candidates);
    gboolean by_fid = n * COST_FETCH < run->query->info->feature_count * COST_SCAN;
    g_autofree char *count = dothi_format_int64 (n);

    plan_line (run, by_fid ? _("  %s candidates from the spatial index, read by fid")
                           : _("  %s candidates from the spatial index, read in one pass"),
               count);
    return drive_from_target (run, sp, candidates, by_fid, error);
  }
}

static DothiFidSet *
eval_spatial (Run *run, const DothiExprNode *node, DothiFidSet *within_set, GError **error)
{
  const DothiLayerInfo *target = run->query->info;
  const DothiLayerInfo *other = find_layer (run->query->layers, node->column);
  Spatial sp = { .node = node, };
  double grow = node->predicate == DOTHI_SPATIAL_WITHIN_DISTANCE ? node->distance : 0;
  gint64 t0 = g_get_monotonic_time ();
  double n_target, n_other, width, height, area, side_t, cand, cost_other, cost_target;
  g_autofree char *n_other_text = NULL;
  g_autofree char *n_target_text = NULL;
  g_autoptr(DothiFidSet) result = NULL;
  gboolean from_other;
  gboolean by_fid;

  g_assert (other != NULL);
  if (!load_other (run, node, grow, &sp.other, error))
    {
      other_set_clear (run, &sp.other);
      return NULL;
    }
  sp.hits = g_ptr_array_new ();
  g_debug ("%s: %u features of %s loaded in %.1f ms", node->column, sp.other.items->len,
           node->column, (g_get_monotonic_time () - t0) / 1000.0);

  /* Estimates: candidates ≈ target density × the grown boxes' area,
   * widened by a typical target feature's size. */
  n_other = sp.other.items->len;
  n_target = within_set != NULL ? dothi_fid_set_get_size (within_set) : target->feature_count;
  width = MAX (target->extent[2] - target->extent[0], 1);
  height = MAX (target->extent[3] - target->extent[1], 1);
  area = width * height;
  side_t = target->kind == DOTHI_GEOMETRY_KIND_MULTIPOINT ? 0
           : sqrt (area / MAX (target->feature_count, 1));
  cand = 0;
  for (guint i = 0; i < sp.other.items->len; i++)
    {
      const OtherFeature *o = &g_array_index (sp.other.items, OtherFeature, i);
      double w = MIN (o->env[2] - o->env[0] + side_t, width);
      double h = MIN (o->env[3] - o->env[1] + side_t, height);

      cand += target->feature_count * (w * h) / area;
    }
  cand = MIN (cand, (double) target->feature_count);
  if (within_set != NULL)
    cand *= n_target / MAX (target->feature_count, 1);
  by_fid = within_set != NULL
           && n_target * COST_FETCH < target->feature_count * COST_SCAN;
  cost_target = by_fid ? n_target * COST_FETCH : target->feature_count * COST_SCAN;
  cost_other = n_other * COST_PROBE + MIN (cand * COST_FETCH, target->feature_count * COST_SCAN);
  from_other = run->has_rtree && cost_other < cost_target;

  n_other_text = dothi_format_int64 ((gint64) n_other);
  n_target_text = dothi_format_int64 ((gint64) n_target);
  if (node->predicate == DOTHI_SPATIAL_WITHIN_DISTANCE)
    /* Translators: predicate, distance in metres, layer; then counts */
    plan_line (run, _("%s %g m of %s: %s features of it count, %s of %s to test"),
               dothi_spatial_predicate_to_string (node->predicate), node->distance,
               other->name, n_other_text, n_target_text, target->name);
  else
    /* Translators: predicate, layer; then counts */
    plan_line (run, _("%s %s: %s features of it count, %s of %s to test"),
               dothi_spatial_predicate_to_string (node->predicate), other->name,
               n_other_text, n_target_text, target->name);
  /* Translators: estimated costs in milliseconds */
  plan_line (run, _("  estimated cost: %.0f ms driving from %s, %.0f ms driving from %s"),
             cost_other / 1000, other->name, cost_target / 1000, target->name);
  if (from_other)
    /* Translators: the two layer names */
    plan_line (run, _("  plan: drive from %s through the spatial index of %s"),
               other->name, target->name);
  else
    /* Translators: the two layer names */
    plan_line (run, by_fid ? _("  plan: read the %s features to test by fid against %s held in memory")
                           : _("  plan: scan %s once against %s held in memory"),
               target->name, other->name);

  if (n_other == 0)
    result = dothi_fid_set_new_sorted (NULL, 0);
  else if (from_other)
    result = drive_from_other (run, &sp, within_set, error);
  else
    result = drive_from_target (run, &sp, within_set, by_fid, error);

  if (result != NULL)
    {
      g_autofree char *matched = dothi_format_int64 (dothi_fid_set_get_size (result));
      g_autofree char *tested = dothi_format_int64 (sp.tested);
      g_autofree char *by_geos = dothi_format_int64 (sp.geos_tests);

      /* Translators: counts, then milliseconds */
      plan_line (run, _("  %s exact tests (%s by GEOS), %s features met it, %.0f ms"),
                 tested, by_geos, matched, (g_get_monotonic_time () - t0) / 1000.0);
      if (sp.failed > 0)
        {
          g_autofree char *failed = dothi_format_int64 (sp.failed);
          /* Translators: a count */
          plan_line (run, _("  %s geometries could not be tested and count as not met"), failed);
        }
    }

  g_ptr_array_unref (sp.hits);
  other_set_clear (run, &sp.other);
  run->n_done++;
  report (run, 0, TRUE);
  return g_steal_pointer (&result);
}

/* Evaluation follows SQL's three-valued logic, as QGIS and the spatialite
 * shell do: a condition on a NULL value is neither true nor false, so NOT
 * does not turn it true. eval() returns the features for which @node is
 * TRUE (@want_true) or FALSE (!@want_true), within @within_set (NULL:
 * every feature). NOT swaps what it asks of its operand; AND's true set
 * and OR's false set narrow operand by operand, the other two unite. A
 * spatial condition is never unknown: false is everything it is not. */
static DothiFidSet *eval (Run *run, const DothiExprNode *node, DothiFidSet *within_set,
                          gboolean want_true, GError **error);

/* Gathers the operands of a chain of the same AND/OR. */
static void
flatten (const DothiExprNode *node, DothiExprKind kind, GPtrArray *out)
{
  if (node->kind == kind)
    {
      flatten (node->a, kind, out);
      flatten (node->b, kind, out);
    }
  else
    g_ptr_array_add (out, (gpointer) node);
}

/* Attribute-only operands of a chain joined by @kind, as one statement:
 * the features for which the whole is TRUE, or FALSE. */
static DothiFidSet *
eval_attributes (Run *run, GPtrArray *nodes, DothiExprKind kind, gboolean want_true,
                 GError **error)
{
  const char *table = run->query->info->name;
  g_autoptr(GPtrArray) params = NULL;
  g_autoptr(GString) where = g_string_new (NULL);
  g_autoptr(GArray) fids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(DothiSqlStr) sql = NULL;
  int rc;

  for (guint i = 0; i < nodes->len; i++)
    {
      g_autofree char *part = dothi_expression_node_to_sql (g_ptr_array_index (nodes, i),
                                                            NULL, &params);
      if (i > 0)
        g_string_append (where, kind == DOTHI_EXPR_OR ? " OR " : " AND ");
      g_string_append_printf (where, "(%s)", part);
    }
  sql = sqlite3_mprintf (want_true ? "SELECT fid FROM \"%w\" WHERE %s ORDER BY fid"
                                   : "SELECT fid FROM \"%w\" WHERE NOT (%s) ORDER BY fid",
                         table, where->str);
  if (sqlite3_prepare_v2 (run->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (run, table, error);
      return NULL;
    }
  if (!dothi_expression_bind (stmt, 1, params, error))
    return NULL;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      gint64 fid = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (fids, fid);
    }
  if (rc != SQLITE_DONE)
    {
      set_db_error (run, table, error);
      return NULL;
    }
  {
    g_autofree char *count = dothi_format_int64 (fids->len);
    plan_line (run, want_true
               /* Translators: a count, a layer name */
               ? _("attribute condition: %s features of %s")
               /* Translators: a count, a layer name: features for which a condition is false */
               : _("attribute condition, false for: %s features of %s"),
               count, table);
  }
  return dothi_fid_set_new_sorted ((const gint64 *) fids->data, fids->len);
}

static DothiFidSet *
restricted (DothiFidSet *set, DothiFidSet *within_set)
{
  DothiFidSet *out;

  if (set == NULL || within_set == NULL)
    return set;
  out = dothi_fid_set_intersect (set, within_set);
  dothi_fid_set_unref (set);
  return out;
}

static DothiFidSet *
eval_chain (Run *run, const DothiExprNode *node, DothiFidSet *within_set, gboolean want_true,
            GError **error)
{
  g_autoptr(GPtrArray) operands = g_ptr_array_new ();
  g_autoptr(GPtrArray) plain = g_ptr_array_new ();
  g_autoptr(GPtrArray) spatial = g_ptr_array_new ();
  g_autoptr(DothiFidSet) acc = NULL;
  /* AND's true set and OR's false set: every operand must agree. */
  gboolean narrowing = (node->kind == DOTHI_EXPR_AND) == want_true;

  flatten (node, node->kind, operands);
  for (guint i = 0; i < operands->len; i++)
    {
      const DothiExprNode *n = g_ptr_array_index (operands, i);
      g_ptr_array_add (dothi_expression_node_is_spatial (n) ? spatial : plain, (gpointer) n);
    }

  /* Attribute conditions first, in one statement: when narrowing they cut
   * down what the spatial tests must look at. */
  if (plain->len > 0)
    {
      acc = restricted (eval_attributes (run, plain, node->kind, want_true, error), within_set);
      if (acc == NULL)
        return NULL;
    }
  for (guint i = 0; i < spatial->len; i++)
    {
      const DothiExprNode *n = g_ptr_array_index (spatial, i);
      g_autoptr(DothiFidSet) part = NULL;

      if (narrowing)
        {
          if (acc != NULL && dothi_fid_set_get_size (acc) == 0)
            break;
          part = eval (run, n, acc != NULL ? acc : within_set, want_true, error);
          if (part == NULL)
            return NULL;
          g_clear_pointer (&acc, dothi_fid_set_unref);
          acc = g_steal_pointer (&part);
        }
      else
        {
          part = eval (run, n, within_set, want_true, error);
          if (part == NULL)
            return NULL;
          if (acc == NULL)
            acc = g_steal_pointer (&part);
          else
            {
              DothiFidSet *u = dothi_fid_set_union (acc, part);
              dothi_fid_set_unref (acc);
              acc = u;
            }
        }
    }
  return g_steal_pointer (&acc);
}

static DothiFidSet *
eval (Run *run, const DothiExprNode *node, DothiFidSet *within_set, gboolean want_true,
      GError **error)
{
  if (!check_cancel (run, error))
    return NULL;

  if (node == NULL)
    {
      if (!want_true)
        return dothi_fid_set_new_sorted (NULL, 0);
      return within_set != NULL ? dothi_fid_set_ref (within_set) : all_fids (run, error);
    }
  if (!dothi_expression_node_is_spatial (node))
    {
      g_autoptr(GPtrArray) one = g_ptr_array_new ();

      g_ptr_array_add (one, (gpointer) node);
      return restricted (eval_attributes (run, one, DOTHI_EXPR_AND, want_true, error),
                         within_set);
    }

  switch (node->kind)
    {
    case DOTHI_EXPR_AND:
    case DOTHI_EXPR_OR:
      return eval_chain (run, node, within_set, want_true, error);
    case DOTHI_EXPR_NOT:
      return eval (run, node->a, within_set, !want_true, error);
    case DOTHI_EXPR_SPATIAL:
      {
        /* What was found is where the predicate holds; for disjoint, the
         * features that intersect. The other answer is the rest. */
        gboolean found_is_wanted = (node->predicate != DOTHI_SPATIAL_DISJOINT) == want_true;
        g_autoptr(DothiFidSet) found = eval_spatial (run, node, within_set, error);
        g_autoptr(DothiFidSet) base = NULL;

        if (found == NULL)
          return NULL;
        if (found_is_wanted)
          return g_steal_pointer (&found);
        base = within_set != NULL ? dothi_fid_set_ref (within_set) : all_fids (run, error);
        if (base == NULL)
          return NULL;
        return dothi_fid_set_difference (base, found);
      }
    case DOTHI_EXPR_COMPARE:
    case DOTHI_EXPR_LIKE:
    case DOTHI_EXPR_IN:
    case DOTHI_EXPR_BETWEEN:
    case DOTHI_EXPR_IS_NULL:
    default:
      g_return_val_if_reached (NULL);
    }
}

static guint
count_spatial (const DothiExprNode *node)
{
  if (node == NULL)
    return 0;
  if (node->kind == DOTHI_EXPR_SPATIAL)
    return 1;
  if (node->kind == DOTHI_EXPR_AND || node->kind == DOTHI_EXPR_OR
      || node->kind == DOTHI_EXPR_NOT)
    return count_spatial (node->a) + count_spatial (node->b);
  return 0;
}

static void
geos_message (const char *message, void *data)
{
  g_debug ("GEOS: %s", message);
}

DothiFidSet *
dothi_query_run (DothiQuery         *query,
                 DothiProgressFunc   progress,
                 gpointer            progress_data,
                 GCancellable       *cancellable,
                 GError            **error)
{
  const DothiExprNode *root;
  g_autoptr(DothiSqlStr) sql = NULL;
  Run run = { 0, };
  DothiFidSet *result;
  gint64 t0 = g_get_monotonic_time ();

  g_return_val_if_fail (query != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (sqlite3_open_v2 (query->path, &run.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                       NULL) != SQLITE_OK)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, SQLite's message */
                   _("Cannot open “%s”: %s"), query->path,
                   run.db != NULL ? sqlite3_errmsg (run.db) : "");
      sqlite3_close (run.db);
      return NULL;
    }
  sqlite3_exec (run.db, "PRAGMA query_only = 1; PRAGMA mmap_size = 268435456;"
                " PRAGMA cache_size = -8192", NULL, NULL, NULL);
  sqlite3_busy_timeout (run.db, 5000);
  dothi_expression_register_functions (run.db);
  if (cancellable != NULL)
    sqlite3_progress_handler (run.db, 1000, progress_handler, cancellable);

  run.has_rtree = has_rtree (run.db, query->info->name);
  run.query = query;
  run.cancellable = cancellable;
  run.progress = progress;
  run.progress_data = progress_data;
  run.plan = g_string_new (NULL);
  run.wkb = g_byte_array_new ();
  shape_init (&run.target);
  run.geos = GEOS_init_r ();
  GEOSContext_setErrorMessageHandler_r (run.geos, geos_message, NULL);
  GEOSContext_setNoticeMessageHandler_r (run.geos, geos_message, NULL);
  run.reader = GEOSWKBReader_create_r (run.geos);

  root = query->expr != NULL ? dothi_expression_get_root (query->expr) : NULL;
  run.n_spatial = count_spatial (root);
  result = eval (&run, root, NULL, TRUE, error);

  if (result != NULL)
    {
      g_autofree char *count = dothi_format_int64 (dothi_fid_set_get_size (result));

      /* Translators: a count, a layer name, milliseconds */
      plan_line (&run, _("result: %s features of %s in %.0f ms"), count, query->info->name,
                 (g_get_monotonic_time () - t0) / 1000.0);
      report (&run, 1, TRUE);
      g_free (query->plan);
      query->plan = g_string_free (g_steal_pointer (&run.plan), FALSE);
    }
  else
    g_string_free (run.plan, TRUE);

  GEOSWKBReader_destroy_r (run.geos, run.reader);
  GEOS_finish_r (run.geos);
  g_byte_array_unref (run.wkb);
  shape_clear (&run.target);
  g_clear_pointer (&run.all, dothi_fid_set_unref);
  sqlite3_close (run.db);
  return result;
}

/* ---- async ---------------------------------------------------------------- */

typedef struct {
  GMainContext      *context;
  DothiProgressFunc  progress;
  gpointer           progress_data;
} AsyncProgress;

static void
async_progress_free (gpointer data)
{
  AsyncProgress *p = data;

  g_main_context_unref (p->context);
  g_free (p);
}

static void
post_progress (double fraction, const char *stage, gpointer data)
{
  AsyncProgress *p = data;

  dothi_progress_post (p->context, p->progress, p->progress_data, fraction, stage);
}

static void
run_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DothiQuery *query = g_object_get_data (G_OBJECT (task), "dothi-query");
  AsyncProgress *p = data;
  GError *error = NULL;
  DothiFidSet *result;

  result = dothi_query_run (query, p->progress != NULL ? post_progress : NULL, p,
                            cancellable, &error);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) dothi_fid_set_unref);
}

void
dothi_query_run_async (DothiQuery          *query,
                       DothiProgressFunc    progress,
                       gpointer             progress_data,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncProgress *p = g_new0 (AsyncProgress, 1);

  g_return_if_fail (query != NULL);

  p->context = g_main_context_ref_thread_default ();
  p->progress = progress;
  p->progress_data = progress_data;
  /* A DothiQuery is not a GObject: the task's source is a plain pointer
   * the caller keeps alive until the callback. */
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_query_run_async);
  g_task_set_task_data (task, p, async_progress_free);
  g_object_set_data (G_OBJECT (task), "dothi-query", query);
  g_task_run_in_thread (task, run_thread);
}

DothiFidSet *
dothi_query_run_finish (DothiQuery    *query,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

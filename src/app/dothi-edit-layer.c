/* dothi-edit-layer.c: the sketch being drawn or edited, in the layer CRS
 * (WKB in and out, distances for snapping and picking), and the overlay
 * above the labels that draws it, its handles, rubber band, snap marker
 * and the selection. */
#define G_LOG_DOMAIN "dothi-edit-layer"

#include "config.h"
#include "dothi-edit-layer.h"

#include "dothi-tile-layer.h"

#include <math.h>
#include <string.h>

/* Logical pixels. */
#define HANDLE_SIZE 7.0
#define HOVER_SIZE 11.0
#define SNAP_SIZE 15.0
#define LINE_WIDTH 2.5
#define HALO_WIDTH 5.5
/* Room around what is drawn, for handles and halos. */
#define MARGIN 16.0

/* WKB geometry types (ISO). */
enum {
  WKB_POINT = 1,
  WKB_LINESTRING = 2,
  WKB_POLYGON = 3,
  WKB_MULTIPOINT = 4,
  WKB_MULTILINESTRING = 5,
  WKB_MULTIPOLYGON = 6,
};

/* ---- the sketch --------------------------------------------------------- */

static void
edit_path_free (gpointer data)
{
  DothiEditPath *path = data;

  g_array_unref (path->vertices);
  g_free (path);
}

DothiEditGeometry *
dothi_edit_geometry_new (DothiGeometryKind kind,
                         gboolean          has_z,
                         gboolean          has_m)
{
  DothiEditGeometry *geometry = g_new0 (DothiEditGeometry, 1);

  geometry->kind = kind;
  geometry->has_z = has_z;
  geometry->has_m = has_m;
  geometry->paths = g_ptr_array_new_with_free_func (edit_path_free);
  return geometry;
}

void
dothi_edit_geometry_free (DothiEditGeometry *geometry)
{
  if (geometry == NULL)
    return;
  g_ptr_array_unref (geometry->paths);
  g_free (geometry);
}

DothiEditPath *
dothi_edit_geometry_add_path (DothiEditGeometry *geometry,
                              guint              part,
                              gboolean           closed)
{
  DothiEditPath *path = g_new0 (DothiEditPath, 1);

  path->part = part;
  path->closed = closed;
  path->vertices = g_array_new (FALSE, TRUE, sizeof (DothiEditVertex));
  g_ptr_array_add (geometry->paths, path);
  return path;
}

DothiEditGeometry *
dothi_edit_geometry_copy (const DothiEditGeometry *geometry)
{
  DothiEditGeometry *copy;

  if (geometry == NULL)
    return NULL;
  copy = dothi_edit_geometry_new (geometry->kind, geometry->has_z, geometry->has_m);
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *path = geometry->paths->pdata[i];
      DothiEditPath *to = dothi_edit_geometry_add_path (copy, path->part, path->closed);

      g_array_append_vals (to->vertices, path->vertices->data, path->vertices->len);
    }
  return copy;
}

guint
dothi_edit_geometry_get_n_vertices (const DothiEditGeometry *geometry)
{
  guint n = 0;

  for (guint i = 0; i < geometry->paths->len; i++)
    n += ((DothiEditPath *) geometry->paths->pdata[i])->vertices->len;
  return n;
}

gboolean
dothi_edit_geometry_get_bbox (const DothiEditGeometry *geometry,
                              double                   bbox[4])
{
  gboolean any = FALSE;

  bbox[0] = bbox[1] = G_MAXDOUBLE;
  bbox[2] = bbox[3] = -G_MAXDOUBLE;
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *path = geometry->paths->pdata[i];

      for (guint j = 0; j < path->vertices->len; j++)
        {
          const DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, j);

          bbox[0] = MIN (bbox[0], v->x);
          bbox[1] = MIN (bbox[1], v->y);
          bbox[2] = MAX (bbox[2], v->x);
          bbox[3] = MAX (bbox[3], v->y);
          any = TRUE;
        }
    }
  return any;
}

void
dothi_edit_geometry_translate (DothiEditGeometry *geometry,
                               double             dx,
                               double             dy)
{
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      DothiEditPath *path = geometry->paths->pdata[i];

      for (guint j = 0; j < path->vertices->len; j++)
        {
          DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, j);

          v->x += dx;
          v->y += dy;
        }
    }
}

static gboolean
same_xy (const DothiEditVertex *a, const DothiEditVertex *b)
{
  return a->x == b->x && a->y == b->y;
}

guint
dothi_edit_path_count_distinct (const DothiEditPath *path)
{
  const DothiEditVertex *v = (const DothiEditVertex *) path->vertices->data;
  guint n = 0;

  for (guint i = 0; i < path->vertices->len; i++)
    if (i == 0 || !same_xy (&v[i], &v[i - 1]))
      n++;
  if (path->closed && n > 1 && same_xy (&v[0], &v[path->vertices->len - 1]))
    n--;
  return n;
}

/* Reading WKB ------------------------------------------------------------ */

typedef struct {
  const guint8 *p;
  gsize         left;
  gboolean      big_endian;
} Reader;

static gboolean
read_u8 (Reader *r, guint8 *v)
{
  if (r->left < 1)
    return FALSE;
  *v = r->p[0];
  r->p++;
  r->left--;
  return TRUE;
}

static gboolean
read_u32 (Reader *r, guint32 *v)
{
  guint32 raw;

  if (r->left < 4)
    return FALSE;
  memcpy (&raw, r->p, 4);
  *v = r->big_endian ? GUINT32_FROM_BE (raw) : GUINT32_FROM_LE (raw);
  r->p += 4;
  r->left -= 4;
  return TRUE;
}

static gboolean
read_double (Reader *r, double *v)
{
  guint64 raw;

  if (r->left < 8)
    return FALSE;
  memcpy (&raw, r->p, 8);
  raw = r->big_endian ? GUINT64_FROM_BE (raw) : GUINT64_FROM_LE (raw);
  memcpy (v, &raw, 8);
  r->p += 8;
  r->left -= 8;
  return TRUE;
}

/* The byte order and type of the next geometry: base type and dims. */
static gboolean
read_header (Reader *r, guint *type, gboolean *has_z, gboolean *has_m)
{
  guint8 order;
  guint32 code;

  if (!read_u8 (r, &order) || order > 1)
    return FALSE;
  r->big_endian = order == 0;
  if (!read_u32 (r, &code))
    return FALSE;
  /* EWKB flags, in case a file from elsewhere carries them. */
  *has_z = (code & 0x80000000u) != 0;
  *has_m = (code & 0x40000000u) != 0;
  if (code & 0x20000000u)
    {
      guint32 srid;

      if (!read_u32 (r, &srid))
        return FALSE;
    }
  code &= 0x0fffffffu;
  switch (code / 1000)
    {
    case 0: break;
    case 1: *has_z = TRUE; break;
    case 2: *has_m = TRUE; break;
    case 3: *has_z = TRUE; *has_m = TRUE; break;
    default: return FALSE;
    }
  *type = code % 1000;
  return TRUE;
}

static gboolean
read_vertices (Reader          *r,
               gboolean         has_z,
               gboolean         has_m,
               guint32          n,
               DothiEditPath   *path)
{
  gsize size = 8 * (2 + !!has_z + !!has_m);

  if (n > r->left / size)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    {
      DothiEditVertex v = { 0 };

      if (!read_double (r, &v.x) || !read_double (r, &v.y)
          || (has_z && !read_double (r, &v.z))
          || (has_m && !read_double (r, &v.m)))
        return FALSE;
      g_array_append_val (path->vertices, v);
    }
  return TRUE;
}

/* One point, line or polygon, whose header was read. */
static gboolean
read_simple (Reader            *r,
             guint              type,
             gboolean           has_z,
             gboolean           has_m,
             DothiEditGeometry *geometry,
             guint              part)
{
  guint32 n;

  switch (type)
    {
    case WKB_POINT:
      {
        DothiEditPath *path = dothi_edit_geometry_add_path (geometry, part, FALSE);

        if (!read_vertices (r, has_z, has_m, 1, path))
          return FALSE;
        /* POINT EMPTY is NaN, NaN. */
        if (isnan (g_array_index (path->vertices, DothiEditVertex, 0).x))
          g_ptr_array_remove_index (geometry->paths, geometry->paths->len - 1);
        return TRUE;
      }

    case WKB_LINESTRING:
      if (!read_u32 (r, &n))
        return FALSE;
      return read_vertices (r, has_z, has_m, n,
                            dothi_edit_geometry_add_path (geometry, part, FALSE));

    case WKB_POLYGON:
      {
        guint32 n_rings;

        if (!read_u32 (r, &n_rings))
          return FALSE;
        for (guint32 i = 0; i < n_rings; i++)
          {
            DothiEditPath *ring = dothi_edit_geometry_add_path (geometry, part, TRUE);
            GArray *v = ring->vertices;

            if (!read_u32 (r, &n) || !read_vertices (r, has_z, has_m, n, ring))
              return FALSE;
            /* Kept open: the closing vertex is implied. */
            if (v->len > 1
                && same_xy (&g_array_index (v, DothiEditVertex, 0),
                            &g_array_index (v, DothiEditVertex, v->len - 1)))
              g_array_set_size (v, v->len - 1);
          }
        return TRUE;
      }

    default:
      return FALSE;
    }
}

DothiEditGeometry *
dothi_edit_geometry_new_from_wkb (const guint8 *wkb,
                                  gsize         wkb_len)
{
  g_autoptr(DothiEditGeometry) geometry = NULL;
  Reader r = { wkb, wkb_len, FALSE };
  gboolean has_z, has_m;
  DothiGeometryKind kind;
  guint type;

  if (wkb == NULL || !read_header (&r, &type, &has_z, &has_m))
    return NULL;
  switch (type)
    {
    case WKB_POINT: case WKB_MULTIPOINT:
      kind = DOTHI_GEOMETRY_KIND_MULTIPOINT;
      break;
    case WKB_LINESTRING: case WKB_MULTILINESTRING:
      kind = DOTHI_GEOMETRY_KIND_MULTILINESTRING;
      break;
    case WKB_POLYGON: case WKB_MULTIPOLYGON:
      kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
      break;
    default:
      return NULL;
    }
  geometry = dothi_edit_geometry_new (kind, has_z, has_m);

  if (type <= WKB_POLYGON)
    {
      if (!read_simple (&r, type, has_z, has_m, geometry, 0))
        return NULL;
    }
  else
    {
      guint32 n;

      if (!read_u32 (&r, &n))
        return NULL;
      for (guint32 i = 0; i < n; i++)
        {
          gboolean z, m;
          guint sub;

          if (!read_header (&r, &sub, &z, &m) || sub != type - 3
              || !read_simple (&r, sub, z, m, geometry, i))
            return NULL;
        }
    }
  return g_steal_pointer (&geometry);
}

/* Writing WKB ------------------------------------------------------------ */

static void
put_u8 (GByteArray *out, guint8 v)
{
  g_byte_array_append (out, &v, 1);
}

static void
put_u32 (GByteArray *out, guint32 v)
{
  guint32 le = GUINT32_TO_LE (v);

  g_byte_array_append (out, (const guint8 *) &le, 4);
}

static void
put_double (GByteArray *out, double v)
{
  guint64 bits;

  memcpy (&bits, &v, 8);
  bits = GUINT64_TO_LE (bits);
  g_byte_array_append (out, (const guint8 *) &bits, 8);
}

static guint32
type_code (const DothiEditGeometry *geometry, guint base)
{
  return base + (geometry->has_z ? 1000 : 0) + (geometry->has_m ? 2000 : 0);
}

static void
put_vertex (GByteArray *out, const DothiEditGeometry *geometry, const DothiEditVertex *v)
{
  put_double (out, v->x);
  put_double (out, v->y);
  if (geometry->has_z)
    put_double (out, v->z);
  if (geometry->has_m)
    put_double (out, v->m);
}

/* The vertices to write: repeats dropped, a ring closed. */
static GArray *
clean_vertices (const DothiEditPath *path)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (DothiEditVertex));
  const DothiEditVertex *v = (const DothiEditVertex *) path->vertices->data;

  for (guint i = 0; i < path->vertices->len; i++)
    if (out->len == 0 || !same_xy (&v[i], &g_array_index (out, DothiEditVertex, out->len - 1)))
      g_array_append_val (out, v[i]);
  if (path->closed && out->len > 0)
    {
      DothiEditVertex first = g_array_index (out, DothiEditVertex, 0);

      if (out->len > 1 && same_xy (&first, &g_array_index (out, DothiEditVertex, out->len - 1)))
        g_array_set_size (out, out->len - 1);
      g_array_append_val (out, first);
    }
  return out;
}

static guint
count_parts (const DothiEditGeometry *geometry)
{
  guint n = 0;

  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *path = geometry->paths->pdata[i];

      if (i == 0 || path->part != ((DothiEditPath *) geometry->paths->pdata[i - 1])->part)
        n++;
    }
  return n;
}

GBytes *
dothi_edit_geometry_to_wkb (const DothiEditGeometry *geometry)
{
  GByteArray *out = g_byte_array_new ();
  guint base;

  g_return_val_if_fail (geometry != NULL, NULL);

  switch (geometry->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT: base = WKB_POINT; break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING: base = WKB_LINESTRING; break;
    default: base = WKB_POLYGON; break;
    }

  put_u8 (out, 1);
  put_u32 (out, type_code (geometry, base + 3));
  put_u32 (out, count_parts (geometry));
  for (guint i = 0; i < geometry->paths->len;)
    {
      guint part = ((DothiEditPath *) geometry->paths->pdata[i])->part;
      guint end = i;

      while (end < geometry->paths->len
             && ((DothiEditPath *) geometry->paths->pdata[end])->part == part)
        end++;

      put_u8 (out, 1);
      put_u32 (out, type_code (geometry, base));
      if (base == WKB_POLYGON)
        put_u32 (out, end - i);
      for (guint k = i; k < end; k++)
        {
          g_autoptr(GArray) v = clean_vertices (geometry->paths->pdata[k]);

          if (base == WKB_POINT)
            {
              /* One vertex per point. */
              if (v->len > 0)
                put_vertex (out, geometry, &g_array_index (v, DothiEditVertex, 0));
              break;
            }
          put_u32 (out, v->len);
          for (guint j = 0; j < v->len; j++)
            put_vertex (out, geometry, &g_array_index (v, DothiEditVertex, j));
        }
      i = end;
    }
  return g_byte_array_free_to_bytes (out);
}

GBytes *
dothi_edit_path_to_line_wkb (const DothiEditPath *path)
{
  GByteArray *out = g_byte_array_new ();
  g_autoptr(GArray) v = clean_vertices (path);

  put_u8 (out, 1);
  put_u32 (out, WKB_LINESTRING);
  put_u32 (out, v->len);
  for (guint j = 0; j < v->len; j++)
    {
      put_double (out, g_array_index (v, DothiEditVertex, j).x);
      put_double (out, g_array_index (v, DothiEditVertex, j).y);
    }
  return g_byte_array_free_to_bytes (out);
}

/* Measures --------------------------------------------------------------- */

/* The parameter (0..1) of the point of segment a–b nearest to p. */
static double
project_on_segment (double px, double py,
                    double ax, double ay,
                    double bx, double by)
{
  double dx = bx - ax, dy = by - ay;
  double len2 = dx * dx + dy * dy;

  if (len2 <= 0.0)
    return 0.0;
  return CLAMP (((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0);
}

static guint
n_segments (const DothiEditPath *path)
{
  guint n = path->vertices->len;

  if (n < 2)
    return 0;
  return path->closed ? n : n - 1;
}

static void
segment_ends (const DothiEditPath    *path,
              guint                   i,
              const DothiEditVertex **a,
              const DothiEditVertex **b)
{
  const DothiEditVertex *v = (const DothiEditVertex *) path->vertices->data;

  *a = &v[i];
  *b = &v[(i + 1) % path->vertices->len];
}

/* Even-odd over the rings of @part. */
static gboolean
part_contains (const DothiEditGeometry *geometry,
               guint                    part,
               double                   x,
               double                   y)
{
  gboolean inside = FALSE;

  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *ring = geometry->paths->pdata[i];
      const DothiEditVertex *v = (const DothiEditVertex *) ring->vertices->data;
      guint n = ring->vertices->len;

      if (ring->part != part || !ring->closed || n < 3)
        continue;
      for (guint j = 0, k = n - 1; j < n; k = j++)
        if ((v[j].y > y) != (v[k].y > y)
            && x < (v[k].x - v[j].x) * (y - v[j].y) / (v[k].y - v[j].y) + v[j].x)
          inside = !inside;
    }
  return inside;
}

static gboolean
polygon_contains (const DothiEditGeometry *geometry,
                  double                   x,
                  double                   y)
{
  if (geometry->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
    return FALSE;
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *path = geometry->paths->pdata[i];

      if ((i == 0 || path->part != ((DothiEditPath *) geometry->paths->pdata[i - 1])->part)
          && part_contains (geometry, path->part, x, y))
        return TRUE;
    }
  return FALSE;
}

double
dothi_edit_geometry_distance (const DothiEditGeometry *geometry,
                              double                   x,
                              double                   y)
{
  double best = G_MAXDOUBLE;

  if (polygon_contains (geometry, x, y))
    return 0.0;
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *path = geometry->paths->pdata[i];

      if (path->vertices->len == 1)
        {
          const DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, 0);

          best = MIN (best, hypot (x - v->x, y - v->y));
        }
      for (guint j = 0; j < n_segments (path); j++)
        {
          const DothiEditVertex *a, *b;
          double t;

          segment_ends (path, j, &a, &b);
          t = project_on_segment (x, y, a->x, a->y, b->x, b->y);
          best = MIN (best, hypot (x - (a->x + t * (b->x - a->x)),
                                   y - (a->y + t * (b->y - a->y))));
        }
    }
  return best;
}

double
dothi_edit_geometry_area (const DothiEditGeometry *geometry)
{
  double area = 0.0;

  if (geometry->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON)
    return 0.0;
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *ring = geometry->paths->pdata[i];
      const DothiEditVertex *v = (const DothiEditVertex *) ring->vertices->data;
      guint n = ring->vertices->len;
      gboolean outer = i == 0 || ring->part != ((DothiEditPath *) geometry->paths->pdata[i - 1])->part;
      double sum = 0.0;

      for (guint j = 0, k = n - 1; n >= 3 && j < n; k = j++)
        sum += (v[k].x - v[j].x) * (v[k].y + v[j].y);
      area += outer ? fabs (sum) / 2.0 : -fabs (sum) / 2.0;
    }
  return area;
}

/* Where segments p0–p1 and q0–q1 meet, as a parameter on p; FALSE when
 * they miss or are parallel. */
static gboolean
segments_meet (const DothiEditVertex *p0, const DothiEditVertex *p1,
               const DothiEditVertex *q0, const DothiEditVertex *q1,
               double                *t)
{
  double rx = p1->x - p0->x, ry = p1->y - p0->y;
  double sx = q1->x - q0->x, sy = q1->y - q0->y;
  double denom = rx * sy - ry * sx;
  double qpx = q0->x - p0->x, qpy = q0->y - p0->y;
  double u;

  if (fabs (denom) <= 1e-15 * (fabs (rx * sy) + fabs (ry * sx) + 1e-300))
    return FALSE;
  *t = (qpx * sy - qpy * sx) / denom;
  u = (qpx * ry - qpy * rx) / denom;
  return *t >= 0.0 && *t <= 1.0 && u >= 0.0 && u <= 1.0;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

gboolean
dothi_edit_geometry_crossed_by (const DothiEditGeometry *geometry,
                                const DothiEditPath     *line)
{
  g_autoptr(GArray) params = g_array_new (FALSE, FALSE, sizeof (double));
  const DothiEditVertex *l = (const DothiEditVertex *) line->vertices->data;

  if (geometry->kind != DOTHI_GEOMETRY_KIND_MULTIPOLYGON || line->vertices->len < 2)
    return FALSE;

  /* Every crossing with a ring, as a parameter along the whole line. */
  for (guint k = 0; k + 1 < line->vertices->len; k++)
    for (guint i = 0; i < geometry->paths->len; i++)
      {
        const DothiEditPath *ring = geometry->paths->pdata[i];

        for (guint j = 0; j < n_segments (ring); j++)
          {
            const DothiEditVertex *a, *b;
            double t;

            segment_ends (ring, j, &a, &b);
            if (segments_meet (&l[k], &l[k + 1], a, b, &t))
              {
                double at = k + t;

                g_array_append_val (params, at);
              }
          }
      }
  g_array_sort (params, compare_doubles);

  /* A stretch between two crossings that lies inside: the line goes
   * across. */
  for (guint i = 0; i + 1 < params->len; i++)
    {
      double t0 = g_array_index (params, double, i);
      double t1 = g_array_index (params, double, i + 1);
      double mid = (t0 + t1) / 2.0;
      guint k = MIN ((guint) floor (mid), line->vertices->len - 2);
      double f = mid - k;

      if (t1 - t0 < 1e-9)
        continue;
      if (polygon_contains (geometry,
                            l[k].x + f * (l[k + 1].x - l[k].x),
                            l[k].y + f * (l[k + 1].y - l[k].y)))
        return TRUE;
    }
  return FALSE;
}

void
dothi_edit_geometry_snap (const DothiEditGeometry *geometry,
                          double                   x,
                          double                   y,
                          double                   tolerance,
                          DothiSnap               *best)
{
  for (guint i = 0; i < geometry->paths->len; i++)
    {
      const DothiEditPath *path = geometry->paths->pdata[i];

      for (guint j = 0; j < path->vertices->len; j++)
        {
          const DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, j);
          double d = hypot (x - v->x, y - v->y);

          if (d > tolerance)
            continue;
          if (best->kind != DOTHI_SNAP_VERTEX || d < best->distance)
            {
              best->kind = DOTHI_SNAP_VERTEX;
              best->x = v->x;
              best->y = v->y;
              best->distance = d;
            }
        }

      if (best->kind == DOTHI_SNAP_VERTEX)
        continue;
      for (guint j = 0; j < n_segments (path); j++)
        {
          const DothiEditVertex *a, *b;
          double t, sx, sy, d;

          segment_ends (path, j, &a, &b);
          t = project_on_segment (x, y, a->x, a->y, b->x, b->y);
          sx = a->x + t * (b->x - a->x);
          sy = a->y + t * (b->y - a->y);
          d = hypot (x - sx, y - sy);
          if (d > tolerance || (best->kind == DOTHI_SNAP_SEGMENT && d >= best->distance))
            continue;
          best->kind = DOTHI_SNAP_SEGMENT;
          best->x = sx;
          best->y = sy;
          best->distance = d;
        }
    }
}

/* ---- the overlay -------------------------------------------------------- */

struct _DothiEditLayer
{
  ShumateLayer        parent_instance;

  DothiEditGeometry  *sketch;      /* layer CRS, a display copy */
  DothiMapTransform  *transform;   /* borrowed: layer CRS → Web Mercator */
  GPtrArray          *merc;        /* per sketch path: GArray of (x, y),
                                    * derived for drawing only */
  gboolean            handles;

  int                 band_path;
  double              band_mx, band_my;
  gboolean            band_ok;

  DothiSnapKind       snap_kind;
  double              snap_mx, snap_my;

  int                 hover_path;
  int                 hover_vertex;

  GPtrArray          *selection;   /* GArray of (x, y) pairs, Web Mercator */
};

G_DEFINE_FINAL_TYPE (DothiEditLayer, dothi_edit_layer, SHUMATE_TYPE_LAYER)

static gboolean
to_mercator (DothiEditLayer *self, double x, double y, double *mx, double *my)
{
  return self->transform != NULL
         && dothi_map_transform_to_mercator (self->transform, x, y, mx, my);
}

static void
update_mercator (DothiEditLayer *self)
{
  g_clear_pointer (&self->merc, g_ptr_array_unref);
  if (self->sketch == NULL)
    return;
  self->merc = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint i = 0; i < self->sketch->paths->len; i++)
    {
      const DothiEditPath *path = self->sketch->paths->pdata[i];
      GArray *xy = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * path->vertices->len);

      for (guint j = 0; j < path->vertices->len; j++)
        {
          const DothiEditVertex *v = &g_array_index (path->vertices, DothiEditVertex, j);
          double m[2];

          /* A vertex PROJ cannot map is left out of the picture only. */
          if (!to_mercator (self, v->x, v->y, &m[0], &m[1]))
            m[0] = m[1] = NAN;
          g_array_append_vals (xy, m, 2);
        }
      g_ptr_array_add (self->merc, xy);
    }
}

typedef struct {
  double minx, miny, maxx, maxy;
} Bounds;

static void
bounds_add (Bounds *b, double x, double y)
{
  if (isnan (x) || isnan (y))
    return;
  b->minx = MIN (b->minx, x);
  b->miny = MIN (b->miny, y);
  b->maxx = MAX (b->maxx, x);
  b->maxy = MAX (b->maxy, y);
}

/* Widget points of one path (pairs of doubles, NaN where unmapped). */
static GArray *
path_to_widget (const DothiMapFrame *frame,
                GArray              *xy,
                guint                n,
                Bounds              *bounds)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * n);
  const double *m = (const double *) xy->data;

  for (guint i = 0; i < n; i++)
    {
      double p[2] = { NAN, NAN };

      if (!isnan (m[2 * i]))
        dothi_map_frame_to_widget (frame, m[2 * i], m[2 * i + 1], &p[0], &p[1]);
      bounds_add (bounds, p[0], p[1]);
      g_array_append_vals (out, p, 2);
    }
  return out;
}

static void
trace_path (cairo_t *cr, GArray *points, gboolean closed)
{
  const double *p = (const double *) points->data;
  guint n = points->len / 2;
  gboolean started = FALSE;

  for (guint i = 0; i < n; i++)
    {
      if (isnan (p[2 * i]))
        continue;
      if (!started)
        cairo_move_to (cr, p[2 * i], p[2 * i + 1]);
      else
        cairo_line_to (cr, p[2 * i], p[2 * i + 1]);
      started = TRUE;
    }
  if (closed && started)
    cairo_close_path (cr);
}

static void
stroke_with_halo (cairo_t *cr, double r, double g, double b, double width)
{
  cairo_set_source_rgba (cr, 0.08, 0.08, 0.08, 0.7);
  cairo_set_line_width (cr, width + 3.0);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, r, g, b);
  cairo_set_line_width (cr, width);
  cairo_stroke (cr);
}

static void
draw_square (cairo_t *cr, double x, double y, double size,
             double r, double g, double b)
{
  cairo_rectangle (cr, round (x) - size / 2.0, round (y) - size / 2.0, size, size);
  cairo_set_source_rgb (cr, r, g, b);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, 0.08, 0.08, 0.08, 0.9);
  cairo_set_line_width (cr, 1.5);
  cairo_stroke (cr);
}

static void
dothi_edit_layer_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  DothiEditLayer *self = DOTHI_EDIT_LAYER (widget);
  ShumateViewport *viewport = shumate_layer_get_viewport (SHUMATE_LAYER (self));
  g_autoptr(GPtrArray) sel = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  Bounds bounds = { G_MAXDOUBLE, G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE };
  double band[2] = { NAN, NAN }, snap[2] = { NAN, NAN };
  gboolean polygon;
  graphene_rect_t rect;
  DothiMapFrame frame;
  cairo_t *cr;

  if (!dothi_map_frame_init (&frame, viewport, widget))
    return;
  if (self->selection == NULL && self->merc == NULL && self->snap_kind == DOTHI_SNAP_NONE)
    return;

  for (guint i = 0; self->selection != NULL && i < self->selection->len; i++)
    {
      GArray *part = self->selection->pdata[i];
      /* Pairs stored as doubles or as two-double elements. */
      guint n = g_array_get_element_size (part) >= 2 * sizeof (double) ? part->len : part->len / 2;
      g_autoptr(GArray) xy = g_array_sized_new (FALSE, FALSE, sizeof (double), 2 * n);

      g_array_append_vals (xy, part->data, 2 * n);
      g_ptr_array_add (sel, path_to_widget (&frame, xy, n, &bounds));
    }
  for (guint i = 0; self->merc != NULL && i < self->merc->len; i++)
    {
      GArray *xy = self->merc->pdata[i];

      g_ptr_array_add (paths, path_to_widget (&frame, xy, xy->len / 2, &bounds));
    }
  if (self->band_ok && self->band_path >= 0 && self->merc != NULL
      && (guint) self->band_path < self->merc->len)
    {
      dothi_map_frame_to_widget (&frame, self->band_mx, self->band_my, &band[0], &band[1]);
      bounds_add (&bounds, band[0], band[1]);
    }
  if (self->snap_kind != DOTHI_SNAP_NONE)
    {
      dothi_map_frame_to_widget (&frame, self->snap_mx, self->snap_my, &snap[0], &snap[1]);
      bounds_add (&bounds, snap[0], snap[1]);
    }
  if (bounds.minx > bounds.maxx)
    return;

  /* Only the part on screen: a parcel seen at 1:200 can be huge. */
  bounds.minx = MAX (bounds.minx - MARGIN, 0.0);
  bounds.miny = MAX (bounds.miny - MARGIN, 0.0);
  bounds.maxx = MIN (bounds.maxx + MARGIN, frame.width);
  bounds.maxy = MIN (bounds.maxy + MARGIN, frame.height);
  if (bounds.minx >= bounds.maxx || bounds.miny >= bounds.maxy)
    return;
  graphene_rect_init (&rect, bounds.minx, bounds.miny,
                      bounds.maxx - bounds.minx, bounds.maxy - bounds.miny);
  cr = gtk_snapshot_append_cairo (snapshot, &rect);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);

  /* The selection: a yellow wash with a firm outline. */
  for (guint i = 0; i < sel->len; i++)
    {
      GArray *points = sel->pdata[i];
      const double *p = (const double *) points->data;
      guint n = points->len / 2;

      if (n == 1)
        {
          if (!isnan (p[0]))
            {
              cairo_new_sub_path (cr);
              cairo_arc (cr, p[0], p[1], 8.0, 0, 2 * G_PI);
            }
          continue;
        }
      trace_path (cr, points, n > 2 && p[0] == p[2 * (n - 1)] && p[1] == p[2 * (n - 1) + 1]);
    }
  if (sel->len > 0)
    {
      cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
      cairo_set_source_rgba (cr, 1.0, 0.92, 0.0, 0.30);
      cairo_fill_preserve (cr);
      stroke_with_halo (cr, 1.0, 0.85, 0.0, 2.5);
    }

  /* The sketch: a light fill for polygons, a bright outline with a halo. */
  polygon = self->sketch != NULL && self->sketch->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  if (paths->len > 0)
    {
      for (guint i = 0; i < paths->len; i++)
        {
          const DothiEditPath *path = self->sketch->paths->pdata[i];

          trace_path (cr, paths->pdata[i], path->closed);
        }
      if (polygon)
        {
          cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
          cairo_set_source_rgba (cr, 0.0, 0.78, 1.0, 0.25);
          cairo_fill_preserve (cr);
        }
      stroke_with_halo (cr, 0.0, 0.78, 1.0, LINE_WIDTH);
    }

  /* The rubber band, dashed, from the last vertex (and back to the first
   * for a ring) to the pointer. */
  if (!isnan (band[0]))
    {
      GArray *points = paths->pdata[self->band_path];
      const DothiEditPath *path = self->sketch->paths->pdata[self->band_path];
      const double *p = (const double *) points->data;
      guint n = points->len / 2;
      static const double dashes[] = { 6.0, 4.0 };

      if (n > 0 && !isnan (p[2 * (n - 1)]))
        {
          cairo_move_to (cr, p[2 * (n - 1)], p[2 * (n - 1) + 1]);
          cairo_line_to (cr, band[0], band[1]);
          if (path->closed && n > 1 && !isnan (p[0]))
            cairo_line_to (cr, p[0], p[1]);
          cairo_set_source_rgba (cr, 0.08, 0.08, 0.08, 0.6);
          cairo_set_line_width (cr, LINE_WIDTH + 2.0);
          cairo_stroke_preserve (cr);
          cairo_set_dash (cr, dashes, G_N_ELEMENTS (dashes), 0.0);
          cairo_set_source_rgb (cr, 0.0, 0.78, 1.0);
          cairo_set_line_width (cr, LINE_WIDTH);
          cairo_stroke (cr);
          cairo_set_dash (cr, NULL, 0, 0.0);
        }
    }

  /* Vertices as small squares; a point of a point layer gets a ring. */
  for (guint i = 0; i < paths->len; i++)
    {
      GArray *points = paths->pdata[i];
      const double *p = (const double *) points->data;

      for (guint j = 0; j < points->len / 2; j++)
        {
          gboolean hovered = (int) i == self->hover_path && (int) j == self->hover_vertex;

          if (isnan (p[2 * j]))
            continue;
          if (self->sketch->kind == DOTHI_GEOMETRY_KIND_MULTIPOINT)
            {
              cairo_new_sub_path (cr);
              cairo_arc (cr, p[2 * j], p[2 * j + 1], 7.0, 0, 2 * G_PI);
              stroke_with_halo (cr, 0.0, 0.78, 1.0, LINE_WIDTH);
            }
          if (hovered)
            draw_square (cr, p[2 * j], p[2 * j + 1], HOVER_SIZE, 0.0, 0.78, 1.0);
          else if (self->handles || self->sketch->kind == DOTHI_GEOMETRY_KIND_MULTIPOINT)
            draw_square (cr, p[2 * j], p[2 * j + 1], HANDLE_SIZE, 1.0, 1.0, 1.0);
        }
    }

  /* The snap marker, in magenta: a square on a vertex, a diamond on a
   * segment. */
  if (!isnan (snap[0]))
    {
      double h = SNAP_SIZE / 2.0;
      double x = round (snap[0]), y = round (snap[1]);

      if (self->snap_kind == DOTHI_SNAP_VERTEX)
        cairo_rectangle (cr, x - h, y - h, SNAP_SIZE, SNAP_SIZE);
      else
        {
          cairo_move_to (cr, x, y - h);
          cairo_line_to (cr, x + h, y);
          cairo_line_to (cr, x, y + h);
          cairo_line_to (cr, x - h, y);
          cairo_close_path (cr);
        }
      stroke_with_halo (cr, 1.0, 0.1, 0.8, 2.0);
    }
  cairo_destroy (cr);
}

static void
viewport_changed_cb (DothiEditLayer *self)
{
  if (self->merc != NULL || self->selection != NULL || self->snap_kind != DOTHI_SNAP_NONE)
    gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
dothi_edit_layer_constructed (GObject *object)
{
  DothiEditLayer *self = DOTHI_EDIT_LAYER (object);

  G_OBJECT_CLASS (dothi_edit_layer_parent_class)->constructed (object);
  dothi_viewport_connect_moved (shumate_layer_get_viewport (SHUMATE_LAYER (self)),
                                G_CALLBACK (viewport_changed_cb), self);
}

static void
dothi_edit_layer_dispose (GObject *object)
{
  DothiEditLayer *self = DOTHI_EDIT_LAYER (object);

  g_clear_pointer (&self->sketch, dothi_edit_geometry_free);
  g_clear_pointer (&self->merc, g_ptr_array_unref);
  g_clear_pointer (&self->selection, g_ptr_array_unref);
  self->transform = NULL;

  G_OBJECT_CLASS (dothi_edit_layer_parent_class)->dispose (object);
}

static void
dothi_edit_layer_class_init (DothiEditLayerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = dothi_edit_layer_constructed;
  object_class->dispose = dothi_edit_layer_dispose;
  widget_class->snapshot = dothi_edit_layer_snapshot;
}

static void
dothi_edit_layer_init (DothiEditLayer *self)
{
  self->band_path = -1;
  self->hover_path = -1;
  self->hover_vertex = -1;
  /* The map under it takes every event: pans, clicks and the tools. */
  gtk_widget_set_can_target (GTK_WIDGET (self), FALSE);
}

/* Public API ------------------------------------------------------------- */

DothiEditLayer *
dothi_edit_layer_new (ShumateViewport *viewport)
{
  g_return_val_if_fail (SHUMATE_IS_VIEWPORT (viewport), NULL);
  return g_object_new (DOTHI_TYPE_EDIT_LAYER, "viewport", viewport, NULL);
}

void
dothi_edit_layer_set_sketch (DothiEditLayer          *self,
                             const DothiEditGeometry *geometry,
                             DothiMapTransform       *transform,
                             gboolean                 handles)
{
  g_return_if_fail (DOTHI_IS_EDIT_LAYER (self));

  g_clear_pointer (&self->sketch, dothi_edit_geometry_free);
  self->sketch = dothi_edit_geometry_copy (geometry);
  self->transform = transform;
  self->handles = handles;
  if (self->sketch == NULL)
    {
      self->band_path = -1;
      self->hover_path = -1;
    }
  update_mercator (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dothi_edit_layer_set_rubber_band (DothiEditLayer *self,
                                  int             path,
                                  double          x,
                                  double          y)
{
  g_return_if_fail (DOTHI_IS_EDIT_LAYER (self));

  if (path < 0 && self->band_path < 0)
    return;
  self->band_path = path;
  self->band_ok = path >= 0 && to_mercator (self, x, y, &self->band_mx, &self->band_my);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dothi_edit_layer_set_snap (DothiEditLayer *self,
                           DothiSnapKind   kind,
                           double          x,
                           double          y)
{
  g_return_if_fail (DOTHI_IS_EDIT_LAYER (self));

  if (kind != DOTHI_SNAP_NONE && !to_mercator (self, x, y, &self->snap_mx, &self->snap_my))
    kind = DOTHI_SNAP_NONE;
  if (kind == DOTHI_SNAP_NONE && self->snap_kind == DOTHI_SNAP_NONE)
    return;
  self->snap_kind = kind;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dothi_edit_layer_set_hover (DothiEditLayer *self,
                            int             path,
                            int             vertex)
{
  g_return_if_fail (DOTHI_IS_EDIT_LAYER (self));

  if (path < 0)
    vertex = -1;
  if (self->hover_path == path && self->hover_vertex == vertex)
    return;
  self->hover_path = path;
  self->hover_vertex = vertex;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dothi_edit_layer_set_selection (DothiEditLayer *self,
                                GPtrArray      *outlines)
{
  g_return_if_fail (DOTHI_IS_EDIT_LAYER (self));

  g_clear_pointer (&self->selection, g_ptr_array_unref);
  self->selection = outlines;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
dothi_edit_layer_add_selection (DothiEditLayer *self,
                                GPtrArray      *outlines)
{
  g_return_if_fail (DOTHI_IS_EDIT_LAYER (self));

  if (outlines == NULL)
    return;
  if (self->selection == NULL)
    {
      self->selection = outlines;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  /* Moved across: the parts are the other array's to free otherwise. */
  g_ptr_array_set_free_func (outlines, NULL);
  for (guint i = 0; i < outlines->len; i++)
    g_ptr_array_add (self->selection, outlines->pdata[i]);
  g_ptr_array_unref (outlines);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static gboolean
vertex_to_widget (DothiEditLayer      *self,
                  const DothiMapFrame *frame,
                  guint                path,
                  guint                vertex,
                  double              *x,
                  double              *y)
{
  GArray *xy = self->merc->pdata[path];
  double mx = g_array_index (xy, double, 2 * vertex);
  double my = g_array_index (xy, double, 2 * vertex + 1);

  if (isnan (mx))
    return FALSE;
  dothi_map_frame_to_widget (frame, mx, my, x, y);
  return TRUE;
}

gboolean
dothi_edit_layer_find_vertex (DothiEditLayer *self,
                              double          x,
                              double          y,
                              double          radius,
                              int            *path,
                              int            *vertex)
{
  DothiMapFrame frame;
  double best = radius;
  gboolean found = FALSE;

  g_return_val_if_fail (DOTHI_IS_EDIT_LAYER (self), FALSE);

  if (self->merc == NULL
      || !dothi_map_frame_init (&frame, shumate_layer_get_viewport (SHUMATE_LAYER (self)),
                                GTK_WIDGET (self)))
    return FALSE;
  for (guint i = 0; i < self->merc->len; i++)
    for (guint j = 0; j < ((GArray *) self->merc->pdata[i])->len / 2; j++)
      {
        double vx, vy, d;

        if (!vertex_to_widget (self, &frame, i, j, &vx, &vy))
          continue;
        d = hypot (vx - x, vy - y);
        if (d <= best)
          {
            best = d;
            *path = i;
            *vertex = j;
            found = TRUE;
          }
      }
  return found;
}

gboolean
dothi_edit_layer_find_segment (DothiEditLayer *self,
                               double          x,
                               double          y,
                               double          radius,
                               int            *path,
                               int            *after)
{
  DothiMapFrame frame;
  double best = radius;
  gboolean found = FALSE;

  g_return_val_if_fail (DOTHI_IS_EDIT_LAYER (self), FALSE);

  if (self->merc == NULL
      || !dothi_map_frame_init (&frame, shumate_layer_get_viewport (SHUMATE_LAYER (self)),
                                GTK_WIDGET (self)))
    return FALSE;
  for (guint i = 0; i < self->merc->len; i++)
    {
      const DothiEditPath *sketch_path = self->sketch->paths->pdata[i];
      guint n = ((GArray *) self->merc->pdata[i])->len / 2;
      guint segments = n < 2 ? 0 : sketch_path->closed ? n : n - 1;

      for (guint j = 0; j < segments; j++)
        {
          double ax, ay, bx, by, t, d;

          if (!vertex_to_widget (self, &frame, i, j, &ax, &ay)
              || !vertex_to_widget (self, &frame, i, (j + 1) % n, &bx, &by))
            continue;
          t = project_on_segment (x, y, ax, ay, bx, by);
          d = hypot (x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
          if (d <= best)
            {
              best = d;
              *path = i;
              *after = j;
              found = TRUE;
            }
        }
    }
  return found;
}

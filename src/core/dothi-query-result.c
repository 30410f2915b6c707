/* dothi-query-result.c: a query's answer as a summary, an export, a new
 * layer of the project, and the queries saved in the project. Rows are
 * read once, by fid lookups for a small set and by one scan for a large. */
#define G_LOG_DOMAIN "dothi-query-result"

#include "config.h"
#include "dothi-query-result.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-export.h"
#include "dothi-export-private.h"
#include "dothi-search.h"
#include "dothi-spatialite-blob.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A set smaller than 1/LOOKUP_RATIO of the layer is read by fid lookups
 * (about 7 µs each on a 1M-parcel file), a larger one by one scan of the
 * table (about 0.3 µs a row, as only chosen rows are decoded). */
#define LOOKUP_RATIO 32

/* ---- reading the chosen rows ------------------------------------------- */

typedef struct {
  sqlite3_stmt *stmt;    /* column 0 is fid; ?1 the fid for lookups */
  DothiFidSet  *fids;
  const gint64 *list;
  guint         n;
  guint         next;
  gboolean      lookup;
} RowScan;

static int
cancel_progress_cb (void *data)
{
  return g_cancellable_is_cancelled (G_CANCELLABLE (data)) ? 1 : 0;
}

static gboolean
set_db_error (sqlite3 *db, const char *context, GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
               /* Translators: first a file or layer name, then the database's own message */
               _("Database error in “%s”: %s"), context, sqlite3_errmsg (db));
  return FALSE;
}

/* Prepares "SELECT fid, @columns FROM @info" over the rows of @fids, in
 * fid order either way. */
static gboolean
row_scan_init (RowScan *scan, sqlite3 *db, const DothiLayerInfo *info, const char *columns,
               DothiFidSet *fids, GError **error)
{
  g_autoptr(DothiSqlStr) sql = NULL;
  guint n;
  gint64 min = 0, max = -1;

  memset (scan, 0, sizeof *scan);
  scan->fids = fids;
  scan->list = dothi_fid_set_get_fids (fids, &n);
  scan->n = n;
  /* The registry's count may be stale after an edit in another program;
   * it only chooses the faster way. */
  scan->lookup = (gint64) n * LOOKUP_RATIO < info->feature_count;
  dothi_fid_set_get_range (fids, &min, &max);

  if (scan->lookup)
    sql = sqlite3_mprintf ("SELECT fid%s%s FROM \"%w\" WHERE fid = ?1",
                           columns[0] ? ", " : "", columns, info->name);
  else
    sql = sqlite3_mprintf ("SELECT fid%s%s FROM \"%w\" WHERE fid BETWEEN ?1 AND ?2 ORDER BY fid",
                           columns[0] ? ", " : "", columns, info->name);
  if (sqlite3_prepare_v2 (db, sql, -1, &scan->stmt, NULL) != SQLITE_OK)
    return set_db_error (db, info->name, NULL, error);
  if (!scan->lookup)
    {
      sqlite3_bind_int64 (scan->stmt, 1, min);
      sqlite3_bind_int64 (scan->stmt, 2, max);
    }
  return TRUE;
}

/* SQLITE_ROW with the statement on the next chosen row, SQLITE_DONE, or
 * an error code. */
static int
row_scan_next (RowScan *scan)
{
  int rc;

  if (scan->lookup)
    {
      while (scan->next < scan->n)
        {
          sqlite3_reset (scan->stmt);
          sqlite3_bind_int64 (scan->stmt, 1, scan->list[scan->next++]);
          rc = sqlite3_step (scan->stmt);
          if (rc != SQLITE_DONE)
            return rc;
        }
      return SQLITE_DONE;
    }
  while ((rc = sqlite3_step (scan->stmt)) == SQLITE_ROW)
    if (dothi_fid_set_contains (scan->fids, sqlite3_column_int64 (scan->stmt, 0)))
      return SQLITE_ROW;
  return rc;
}

static void
row_scan_clear (RowScan *scan)
{
  g_clear_pointer (&scan->stmt, sqlite3_finalize);
}

/* The project at @path on a read-only connection of this thread's own,
 * its SQLite handle, and the layer @layer. */
static DothiProject *
open_read_only (const char *path, const char *layer, DothiLayerInfo **info, sqlite3 **db,
                GError **error)
{
  g_autoptr(DothiProject) project = NULL;
  DothiStore *store;

  project = dothi_project_open (path, DOTHI_PROJECT_OPEN_READ_ONLY, error);
  if (project == NULL)
    return NULL;
  store = dothi_project_get_store (project);
  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: project file */
                   _("Query results of “%s” can only be read from a SpatiaLite project"), path);
      return NULL;
    }
  *info = dothi_project_get_layer (project, layer, error);
  if (*info == NULL)
    return NULL;
  *db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
  return g_steal_pointer (&project);
}

static gboolean
unreadable_geometry (sqlite3_stmt *stmt, const char *layer, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
               /* Translators: feature id, layer name */
               _("Feature %lld of layer “%s” has an unreadable geometry"),
               (long long) sqlite3_column_int64 (stmt, 0), layer);
  return FALSE;
}

/* ---- measuring geometries ---------------------------------------------- */

typedef struct {
  const guint8 *p;
  const guint8 *end;
  gboolean      swap;
} WkbReader;

static gboolean
wkb_u32 (WkbReader *r, guint32 *v)
{
  guint32 x;

  if (r->end - r->p < 4)
    return FALSE;
  memcpy (&x, r->p, 4);
  r->p += 4;
  *v = r->swap ? GUINT32_SWAP_LE_BE (x) : x;
  return TRUE;
}

static inline double
wkb_double_at (const WkbReader *r, const guint8 *p)
{
  double d;

  if (r->swap)
    {
      guint64 x;
      memcpy (&x, p, 8);
      x = GUINT64_SWAP_LE_BE (x);
      memcpy (&d, &x, 8);
    }
  else
    memcpy (&d, p, 8);
  return d;
}

/* A point sequence of @n points of @dims doubles: its planar length and
 * (for a ring) its signed shoelace area, from the first point as origin
 * so large VN-2000 coordinates lose no precision. */
static gboolean
wkb_points (WkbReader *r, guint dims, double *length, double *area)
{
  guint32 n;
  gsize stride = 8 * (gsize) dims;
  double x0, y0, px = 0, py = 0, sum = 0, len = 0;

  if (!wkb_u32 (r, &n) || (gsize) (r->end - r->p) / stride < n)
    return FALSE;
  if (n == 0)
    {
      *length = 0;
      if (area)
        *area = 0;
      return TRUE;
    }
  x0 = wkb_double_at (r, r->p);
  y0 = wkb_double_at (r, r->p + 8);
  for (guint32 i = 0; i < n; i++)
    {
      const guint8 *q = r->p + i * stride;
      double x = wkb_double_at (r, q) - x0;
      double y = wkb_double_at (r, q + 8) - y0;

      if (i > 0)
        {
          len += hypot (x - px, y - py);
          sum += px * y - x * py;
        }
      px = x;
      py = y;
    }
  r->p += n * stride;
  *length = len;
  if (area)
    *area = sum / 2.0;
  return TRUE;
}

/* Adds the area and length (perimeter for polygons) of one WKB geometry. */
static gboolean
wkb_measure (WkbReader *r, double *area, double *length, int depth)
{
  guint32 type, base, dims;

  if (r->end - r->p < 1 || depth > 8)
    return FALSE;
  r->swap = (*r->p == 0) == (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  r->p++;
  if (!wkb_u32 (r, &type))
    return FALSE;
  base = type % 1000;
  switch (type / 1000)
    {
    case 0: dims = 2; break;
    case 1: case 2: dims = 3; break;
    case 3: dims = 4; break;
    default: return FALSE;
    }
  switch (base)
    {
    case 1:
      if ((gsize) (r->end - r->p) < 8 * (gsize) dims)
        return FALSE;
      r->p += 8 * dims;
      return TRUE;
    case 2:
      {
        double len;
        if (!wkb_points (r, dims, &len, NULL))
          return FALSE;
        *length += len;
        return TRUE;
      }
    case 3:
      {
        guint32 rings;
        if (!wkb_u32 (r, &rings))
          return FALSE;
        for (guint32 i = 0; i < rings; i++)
          {
            double len, a;
            if (!wkb_points (r, dims, &len, &a))
              return FALSE;
            *length += len;
            *area += i == 0 ? fabs (a) : -fabs (a);
          }
        return TRUE;
      }
    case 4: case 5: case 6: case 7:
      {
        guint32 parts;
        if (!wkb_u32 (r, &parts))
          return FALSE;
        for (guint32 i = 0; i < parts; i++)
          if (!wkb_measure (r, area, length, depth + 1))
            return FALSE;
        return TRUE;
      }
    default:
      return FALSE;
    }
}

/* ---- summary ----------------------------------------------------------- */

static DothiSummaryRow *
summary_row_new (const char *key)
{
  DothiSummaryRow *row = g_new0 (DothiSummaryRow, 1);

  row->key = g_strdup (key);
  return row;
}

static void
summary_row_free (DothiSummaryRow *row)
{
  g_free (row->key);
  g_free (row);
}

void
dothi_summary_free (DothiSummary *summary)
{
  if (summary == NULL)
    return;
  g_free (summary->total.key);
  g_clear_pointer (&summary->groups, g_ptr_array_unref);
  g_free (summary);
}

/* A number as people read it: no exponent for everyday values, no
 * trailing zeros (12.5, 3, 0.1), and still the same double. */
static void
format_real (char *buf, gsize size, double d)
{
  if (isfinite (d) && d == floor (d) && fabs (d) < 1e15)
    {
      g_snprintf (buf, size, "%.0f", d);
      return;
    }
  g_ascii_formatd (buf, size, "%.15g", d);
  if (g_ascii_strtod (buf, NULL) != d)
    g_ascii_formatd (buf, size, "%.17g", d);
}

/* The group key of column @col as display text; NULL for NULL. Borrowed
 * from the statement or written into @buf. */
static const char *
column_key (sqlite3_stmt *stmt, int col, char *buf, gsize size, GString *hex)
{
  switch (sqlite3_column_type (stmt, col))
    {
    case SQLITE_NULL:
      return NULL;
    case SQLITE_INTEGER:
      g_snprintf (buf, size, "%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (stmt, col));
      return buf;
    case SQLITE_FLOAT:
      format_real (buf, size, sqlite3_column_double (stmt, col));
      return buf;
    case SQLITE_BLOB:
      {
        const guint8 *b = sqlite3_column_blob (stmt, col);
        int n = sqlite3_column_bytes (stmt, col);

        g_string_truncate (hex, 0);
        for (int i = 0; i < n; i++)
          g_string_append_printf (hex, "%02x", b[i]);
        return hex->str;
      }
    default:
      return (const char *) sqlite3_column_text (stmt, col);
    }
}

typedef struct {
  DothiSummaryRow *row;
  char            *fold;
  gboolean         numeric;
  double           value;
} SortItem;

static int
compare_items (gconstpointer a, gconstpointer b)
{
  const SortItem *x = a, *y = b;
  int cmp;

  if (x->row->count != y->row->count)
    return x->row->count > y->row->count ? -1 : 1;
  /* NULL after every value. */
  if (x->row->key == NULL || y->row->key == NULL)
    return (x->row->key == NULL) - (y->row->key == NULL);
  if (x->numeric && y->numeric && x->value != y->value)
    return x->value < y->value ? -1 : 1;
  cmp = strcmp (x->fold, y->fold);
  return cmp != 0 ? cmp : strcmp (x->row->key, y->row->key);
}

static void
sort_groups (GPtrArray *groups)
{
  g_autofree SortItem *items = g_new0 (SortItem, MAX (groups->len, 1));

  for (guint i = 0; i < groups->len; i++)
    {
      SortItem *it = &items[i];
      char *end = NULL;

      it->row = g_ptr_array_index (groups, i);
      if (it->row->key == NULL)
        continue;
      it->fold = dothi_text_fold (it->row->key);
      it->value = g_ascii_strtod (it->row->key, &end);
      it->numeric = end != it->row->key && *end == '\0';
    }
  qsort (items, groups->len, sizeof (SortItem), compare_items);
  for (guint i = 0; i < groups->len; i++)
    {
      groups->pdata[i] = items[i].row;
      g_free (items[i].fold);
    }
}

DothiSummary *
dothi_query_summarize (const char    *path,
                       const char    *layer,
                       DothiFidSet   *fids,
                       const char    *group_field,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(DothiSummary) summary = NULL;
  g_autoptr(GHashTable) groups = NULL;
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GString) hex = g_string_new (NULL);
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  DothiSummaryRow *null_group = NULL;
  RowScan scan;
  sqlite3 *db = NULL;
  gboolean has_geom;
  int geom_col = -1, group_col = -1;
  gint64 rows = 0;
  int rc;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (layer != NULL, NULL);
  g_return_val_if_fail (fids != NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  project = open_read_only (path, layer, &info, &db, error);
  if (project == NULL)
    return NULL;

  if (group_field != NULL && dothi_layer_info_find_field (info, group_field) < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: layer name, field name */
                   _("Layer “%s” has no field “%s”"), info->name, group_field);
      return NULL;
    }

  has_geom = info->kind != DOTHI_GEOMETRY_KIND_NONE;
  if (group_field != NULL)
    {
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf ("\"%w\"", group_field);
      g_string_append (columns, col);
      group_col = 1;
    }
  if (has_geom)
    {
      g_string_append (columns, columns->len > 0 ? ", geom" : "geom");
      geom_col = group_col > 0 ? 2 : 1;
    }

  summary = g_new0 (DothiSummary, 1);
  summary->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) summary_row_free);
  groups = g_hash_table_new (g_str_hash, g_str_equal);

  if (dothi_fid_set_get_size (fids) == 0)
    return g_steal_pointer (&summary);
  if (!row_scan_init (&scan, db, info, columns->str, fids, error))
    return NULL;
  if (cancellable != NULL)
    sqlite3_progress_handler (db, 4096, cancel_progress_cb, cancellable);

  while ((rc = row_scan_next (&scan)) == SQLITE_ROW)
    {
      double area = 0, length = 0;
      DothiSummaryRow *group = NULL;

      if ((++rows & 0x3ff) == 0 && g_cancellable_is_cancelled (cancellable))
        break;
      if (geom_col > 0 && sqlite3_column_type (scan.stmt, geom_col) == SQLITE_BLOB)
        {
          WkbReader r;

          if (!dothi_blob_to_wkb (sqlite3_column_blob (scan.stmt, geom_col),
                                  (gsize) sqlite3_column_bytes (scan.stmt, geom_col), wkb, NULL))
            goto unreadable;
          r.p = wkb->data;
          r.end = wkb->data + wkb->len;
          if (!wkb_measure (&r, &area, &length, 0))
            goto unreadable;
        }
      if (group_col > 0)
        {
          char buf[64];
          const char *key = column_key (scan.stmt, group_col, buf, sizeof buf, hex);

          if (key == NULL)
            {
              if (null_group == NULL)
                {
                  null_group = summary_row_new (NULL);
                  g_ptr_array_add (summary->groups, null_group);
                }
              group = null_group;
            }
          else if ((group = g_hash_table_lookup (groups, key)) == NULL)
            {
              group = summary_row_new (key);
              g_ptr_array_add (summary->groups, group);
              g_hash_table_insert (groups, group->key, group);
            }
          group->count++;
          group->area += area;
          group->length += length;
        }
      summary->total.count++;
      summary->total.area += area;
      summary->total.length += length;
      continue;

    unreadable:
      unreadable_geometry (scan.stmt, info->name, error);
      sqlite3_progress_handler (db, 0, NULL, NULL);
      row_scan_clear (&scan);
      return NULL;
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    set_db_error (db, info->name, cancellable, error);
  else if (g_cancellable_set_error_if_cancelled (cancellable, error))
    rc = SQLITE_INTERRUPT;
  sqlite3_progress_handler (db, 0, NULL, NULL);
  row_scan_clear (&scan);
  if (rc != SQLITE_DONE)
    return NULL;

  sort_groups (summary->groups);
  return g_steal_pointer (&summary);
}

/* ---- export ------------------------------------------------------------ */

static const struct {
  const char *driver;
  const char *ext;
} export_formats[] = {
  { "GPKG", "gpkg" },
  { "GeoJSON", "geojson" },
  { "CSV", "csv" },
};

/* A name beside @out_path that no file has: the output is written there
 * and renamed at the end, so a failed or cancelled export leaves nothing
 * under the name the user chose. Keeps the format's extension, which
 * GDAL's drivers go by. */
static char *
temporary_path (const char *out_path, const char *ext)
{
  g_autofree char *dir = g_path_get_dirname (out_path);
  g_autofree char *base = g_path_get_basename (out_path);

  for (;;)
    {
      g_autofree char *name = g_strdup_printf (".%s.%08x.part.%s", base, g_random_int (), ext);
      char *path = g_build_filename (dir, name, NULL);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return path;
      g_free (path);
    }
}

/* The stem of @path without its extension. */
static char *
path_stem (const char *path)
{
  const char *slash = strrchr (path, G_DIR_SEPARATOR);
  const char *dot = strrchr (path, '.');

  if (dot == NULL || (slash != NULL && dot < slash))
    return g_strdup (path);
  return g_strndup (path, dot - path);
}

/* Where each file GDAL wrote for @tmp goes: @tmp itself to @out_path, a
 * side file (a CSV's .prj) to the same extension beside it. */
static char *
final_name (const char *file, const char *tmp, const char *out_path)
{
  g_autofree char *tmp_stem = NULL;
  g_autofree char *out_stem = NULL;

  if (g_strcmp0 (file, tmp) == 0)
    return g_strdup (out_path);
  tmp_stem = path_stem (tmp);
  if (!g_str_has_prefix (file, tmp_stem))
    return NULL;
  out_stem = path_stem (out_path);
  return g_strconcat (out_stem, file + strlen (tmp_stem), NULL);
}

static gboolean
write_row (OGRLayerH out, OGRFeatureDefnH defn, const DothiLayerInfo *info, GArray *field_index,
           sqlite3_stmt *stmt, gboolean set_fid, GByteArray *wkb, const char *out_path,
           GError **error)
{
  g_auto(OGRFeatureH) f = OGR_F_Create (defn);
  guint nf = info->fields->len;
  gint64 fid = sqlite3_column_int64 (stmt, 0);

  for (guint i = 0; i < nf; i++)
    {
      const DothiField *fld = g_ptr_array_index (info->fields, i);
      int idx = g_array_index (field_index, int, i);
      int c = (int) i + 1;

      if (idx < 0)
        continue;
      if (sqlite3_column_type (stmt, c) == SQLITE_NULL)
        {
          OGR_F_SetFieldNull (f, idx);
          continue;
        }
      switch (fld->type)
        {
        case DOTHI_FIELD_INTEGER:
        case DOTHI_FIELD_BOOLEAN:
          OGR_F_SetFieldInteger64 (f, idx, sqlite3_column_int64 (stmt, c));
          break;
        case DOTHI_FIELD_REAL:
          OGR_F_SetFieldDouble (f, idx, sqlite3_column_double (stmt, c));
          break;
        case DOTHI_FIELD_BLOB:
          {
            const void *b = sqlite3_column_blob (stmt, c);
            OGR_F_SetFieldBinary (f, idx, sqlite3_column_bytes (stmt, c), b);
          }
          break;
        default:
          OGR_F_SetFieldString (f, idx, (const char *) sqlite3_column_text (stmt, c));
          break;
        }
    }
  if (info->kind != DOTHI_GEOMETRY_KIND_NONE
      && sqlite3_column_type (stmt, (int) nf + 1) == SQLITE_BLOB)
    {
      OGRGeometryH geom = NULL;

      if (!dothi_blob_to_wkb (sqlite3_column_blob (stmt, (int) nf + 1),
                              (gsize) sqlite3_column_bytes (stmt, (int) nf + 1), wkb, NULL)
          || OGR_G_CreateFromWkbEx (wkb->data, NULL, &geom, wkb->len) != OGRERR_NONE)
        return unreadable_geometry (stmt, info->name, error);
      OGR_F_SetGeometryDirectly (f, geom);
    }
  if (set_fid)
    OGR_F_SetFID (f, fid);
  if (OGR_L_CreateFeature (out, f) != OGRERR_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: feature id, layer, output file, GDAL's message */
                   _("Cannot write feature %lld of layer “%s” to “%s”: %s"),
                   (long long) fid, info->name, out_path, CPLGetLastErrorMsg ());
      CPLErrorReset ();
      return FALSE;
    }
  return TRUE;
}

/* Writes the chosen rows into the new dataset @ds. */
static gboolean
export_rows (sqlite3 *db, GDALDatasetH ds, const char *driver, const DothiLayerInfo *info,
             DothiFidSet *fids, const char *out_path, GCancellable *cancellable,
             DothiProgressFunc progress, gpointer progress_data, GError **error)
{
  g_auto(OGRSpatialReferenceH) srs = NULL;
  g_autoptr(GArray) field_index = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  char **options = NULL;
  OGRLayerH out;
  OGRFeatureDefnH defn;
  RowScan scan;
  guint total = dothi_fid_set_get_size (fids);
  gint64 done = 0, last_us = 0;
  gboolean ok = TRUE;
  int rc;

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE && info->srid > 0)
    {
      srs = dothi_crs_new_srs (info->srid, error);
      if (srs == NULL)
        return FALSE;
    }
  /* The same layer options as dothi-export.c: a WKT column in CSV, the
   * project's VN-2000 coordinates kept in GeoJSON. */
  if (g_str_equal (driver, "CSV"))
    options = CSLSetNameValue (options, "GEOMETRY", "AS_WKT");
  else if (g_str_equal (driver, "GeoJSON"))
    options = CSLSetNameValue (options, "RFC7946", "NO");
  else if (g_str_equal (driver, "GPKG"))
    options = CSLSetNameValue (options, "FID", "fid");
  out = GDALDatasetCreateLayer (ds, info->name, srs, dothi_export_ogr_type (info), options);
  CSLDestroy (options);
  if (out == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: layer, output file, GDAL's message */
                   _("Cannot create layer “%s” in “%s”: %s"), info->name, out_path,
                   CPLGetLastErrorMsg ());
      return FALSE;
    }

  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *fld = g_ptr_array_index (info->fields, i);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf ("%s\"%w\"", i > 0 ? ", " : "", fld->name);
      OGRFieldSubType sub;
      OGRFieldType type = dothi_export_ogr_field_type (fld->type, &sub);
      OGRFieldDefnH fd = OGR_Fld_Create (fld->name, type);
      int idx = -1;

      OGR_Fld_SetSubType (fd, sub);
      if (OGR_L_CreateField (out, fd, TRUE) == OGRERR_NONE)
        idx = OGR_FD_GetFieldCount (OGR_L_GetLayerDefn (out)) - 1;
      OGR_Fld_Destroy (fd);
      if (idx < 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                       _("Cannot create layer “%s” in “%s”: %s"), info->name, out_path,
                       CPLGetLastErrorMsg ());
          return FALSE;
        }
      g_array_append_val (field_index, idx);
      g_string_append (columns, col);
    }
  if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
    g_string_append (columns, columns->len > 0 ? ", geom" : "geom");
  else
    g_string_append (columns, columns->len > 0 ? ", NULL" : "NULL");
  defn = OGR_L_GetLayerDefn (out);

  if (total == 0)
    return TRUE;
  if (!row_scan_init (&scan, db, info, columns->str, fids, error))
    return FALSE;
  if (cancellable != NULL)
    sqlite3_progress_handler (db, 4096, cancel_progress_cb, cancellable);
  /* Drivers without transactions write directly. */
  if (OGR_L_StartTransaction (out) != OGRERR_NONE)
    CPLErrorReset ();

  while ((rc = row_scan_next (&scan)) == SQLITE_ROW)
    {
      if (!write_row (out, defn, info, field_index, scan.stmt, !g_str_equal (driver, "CSV"),
                      wkb, out_path, error))
        {
          ok = FALSE;
          break;
        }
      if ((++done & 0x3ff) == 0)
        {
          gint64 now = g_get_monotonic_time ();

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            {
              ok = FALSE;
              break;
            }
          if (progress != NULL && now - last_us > 100000)
            {
              last_us = now;
              progress (done / (double) total, _("Writing features"), progress_data);
            }
        }
    }
  if (ok && rc != SQLITE_DONE)
    ok = set_db_error (db, info->name, cancellable, error);
  else if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
    ok = FALSE;
  sqlite3_progress_handler (db, 0, NULL, NULL);
  row_scan_clear (&scan);
  if (ok && OGR_L_CommitTransaction (out) != OGRERR_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot create layer “%s” in “%s”: %s"), info->name, out_path,
                   CPLGetLastErrorMsg ());
      ok = FALSE;
    }
  return ok;
}

gboolean
dothi_query_export (const char         *path,
                    const char         *layer,
                    DothiFidSet        *fids,
                    const char         *out_path,
                    const char         *format,
                    GCancellable       *cancellable,
                    DothiProgressFunc   progress,
                    gpointer            progress_data,
                    GError            **error)
{
  g_autoptr(DothiProject) project = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autofree char *tmp = NULL;
  g_auto(GStrv) written = NULL;
  g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
  const char *driver_name;
  const char *ext = NULL;
  GDALDriverH driver;
  GDALDatasetH ds;
  sqlite3 *db = NULL;
  gboolean ok;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (layer != NULL, FALSE);
  g_return_val_if_fail (fids != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  driver_name = dothi_export_driver_for (format, out_path);
  for (guint i = 0; driver_name != NULL && i < G_N_ELEMENTS (export_formats); i++)
    if (g_str_equal (driver_name, export_formats[i].driver))
      ext = export_formats[i].ext;
  if (ext == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: a format name or file name */
                   _("A query result can be exported to GeoPackage, GeoJSON or CSV, not “%s”"),
                   format ? format : out_path);
      return FALSE;
    }
  if (g_file_test (out_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   _("“%s” already exists; choose another name"), out_path);
      return FALSE;
    }
  driver = GDALGetDriverByName (driver_name);
  if (driver == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   _("This GDAL has no %s driver"), driver_name);
      return FALSE;
    }

  project = open_read_only (path, layer, &info, &db, error);
  if (project == NULL)
    return FALSE;

  tmp = temporary_path (out_path, ext);
  /* GDAL's messages become part of Dothi's, never printed on their own. */
  CPLPushErrorHandler (CPLQuietErrorHandler);
  ds = GDALCreate (driver, tmp, 0, 0, 0, GDT_Unknown, NULL);
  if (ds == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: output file, GDAL's message */
                   _("Cannot create “%s”: %s"), out_path, CPLGetLastErrorMsg ());
      CPLPopErrorHandler ();
      return FALSE;
    }
  ok = export_rows (db, ds, driver_name, info, fids, out_path, cancellable, progress,
                    progress_data, error);
  written = GDALGetFileList (ds);
  CPLErrorReset ();
  GDALClose (ds);
  if (ok && CPLGetLastErrorType () >= CE_Failure)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot create “%s”: %s"), out_path, CPLGetLastErrorMsg ());
      ok = FALSE;
    }
  /* Nothing may be overwritten, the side files neither. */
  for (guint i = 0; ok && written != NULL && written[i] != NULL; i++)
    {
      char *target = final_name (written[i], tmp, out_path);

      if (target == NULL || g_file_test (target, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                       _("“%s” already exists; choose another name"), target ? target : out_path);
          ok = FALSE;
        }
      g_ptr_array_add (targets, target);
    }
  if (!ok)
    {
      GDALDeleteDataset (driver, tmp);
      for (guint i = 0; written != NULL && written[i] != NULL; i++)
        g_remove (written[i]);
      CPLPopErrorHandler ();
      return FALSE;
    }
  CPLPopErrorHandler ();

  /* The main file last: its name appearing means the export is complete. */
  {
    g_autoptr(GArray) renamed = g_array_new (FALSE, FALSE, sizeof (guint));

    for (guint pass = 0; pass < 2; pass++)
      for (guint i = 0; written[i] != NULL; i++)
        {
          const char *target = g_ptr_array_index (targets, i);
          int saved;

          if ((g_strcmp0 (written[i], tmp) == 0) != (pass == 1))
            continue;
          if (g_rename (written[i], target) == 0)
            {
              g_array_append_val (renamed, i);
              continue;
            }
          saved = errno;
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                       /* Translators: output file, the system's message */
                       _("Cannot create “%s”: %s"), out_path, g_strerror (saved));
          for (guint j = 0; written[j] != NULL; j++)
            g_remove (written[j]);
          for (guint j = 0; j < renamed->len; j++)
            g_remove (g_ptr_array_index (targets, g_array_index (renamed, guint, j)));
          return FALSE;
        }
  }
  if (progress != NULL)
    progress (1.0, _("Writing features"), progress_data);
  return TRUE;
}

/* ---- save as layer ----------------------------------------------------- */

/* Binds nothing: fills @values from the columns 1.. of @stmt. */
static void
read_values (sqlite3_stmt *stmt, const DothiLayerInfo *info, DothiValue *values)
{
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *f = g_ptr_array_index (info->fields, i);
      DothiValue *v = &values[i];
      int c = (int) i + 1;

      v->is_null = sqlite3_column_type (stmt, c) == SQLITE_NULL;
      switch (f->type)
        {
        case DOTHI_FIELD_INTEGER:
        case DOTHI_FIELD_BOOLEAN:
          v->v.i = sqlite3_column_int64 (stmt, c);
          break;
        case DOTHI_FIELD_REAL:
          v->v.d = sqlite3_column_double (stmt, c);
          break;
        case DOTHI_FIELD_BLOB:
          v->v.b.data = sqlite3_column_blob (stmt, c);
          v->v.b.len = (gsize) sqlite3_column_bytes (stmt, c);
          break;
        default:
          v->v.s = (const char *) sqlite3_column_text (stmt, c);
          break;
        }
    }
}

gint64
dothi_query_save_layer (DothiProject  *project,
                        const char    *layer,
                        DothiFidSet   *fids,
                        const char    *name,
                        const char    *title,
                        char         **table,
                        GError       **error)
{
  g_autoptr(DothiLayerInfo) src = NULL;
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(GString) columns = g_string_new (NULL);
  g_autoptr(GByteArray) wkb = g_byte_array_new ();
  g_autofree DothiValue *values = NULL;
  g_autofree char *slug = NULL;
  g_autofree char *label = NULL;
  DothiStore *store;
  RowScan scan = { 0 };
  sqlite3 *db;
  gint64 action_id;
  guint nf;
  int rc = SQLITE_DONE;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), 0);
  g_return_val_if_fail (layer != NULL, 0);
  g_return_val_if_fail (fids != NULL, 0);
  g_return_val_if_fail (name != NULL, 0);

  if (table != NULL)
    *table = NULL;
  store = dothi_project_get_store (project);
  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   _("Query results of “%s” can only be read from a SpatiaLite project"),
                   dothi_project_get_path (project));
      return 0;
    }
  db = dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
  src = dothi_project_get_layer (project, layer, error);
  if (src == NULL)
    return 0;
  {
    g_autofree char *stripped = g_strstrip (g_strdup (name));

    if (stripped[0] == '\0')
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: layer name */
                     _("The new layer made from “%s” needs a name"), src->name);
        return 0;
      }
  }
  slug = dothi_slugify (name);
  if (dothi_store_has_table (store, slug))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   _("Layer “%s” already exists in “%s”"), slug, dothi_project_get_path (project));
      return 0;
    }

  info = dothi_layer_info_copy (src);
  g_free (info->name);
  info->name = g_strdup (slug);
  g_free (info->title);
  info->title = g_strdup (title != NULL && title[0] != '\0' ? title : name);
  /* Where the features came from: the layer, as an import names its file. */
  g_free (info->source);
  info->source = g_strdup (src->name);
  g_clear_pointer (&info->driver, g_free);
  g_clear_pointer (&info->encoding, g_free);
  g_clear_pointer (&info->operation, g_free);
  g_clear_pointer (&info->imported_at, g_free);
  g_clear_pointer (&info->style, g_free);
  info->feature_count = 0;

  nf = src->fields->len;
  values = g_new0 (DothiValue, MAX (nf, 1));
  for (guint i = 0; i < nf; i++)
    {
      const DothiField *fld = g_ptr_array_index (src->fields, i);
      g_autoptr(DothiSqlStr) col = sqlite3_mprintf ("%s\"%w\"", i > 0 ? ", " : "", fld->name);
      g_string_append (columns, col);
    }
  if (src->kind != DOTHI_GEOMETRY_KIND_NONE)
    g_string_append (columns, nf > 0 ? ", geom" : "geom");
  else
    g_string_append (columns, nf > 0 ? ", NULL" : "NULL");

  /* Translators: the action's name in the history; the new layer's title */
  label = g_strdup_printf (_("Save query result as layer “%s”"), info->title);
  if (!dothi_store_begin (store, label, error))
    return 0;
  if (!dothi_store_create_layer (store, info, error))
    goto fail;

  if (dothi_fid_set_get_size (fids) > 0)
    {
      if (!row_scan_init (&scan, db, src, columns->str, fids, error))
        goto fail;
      while ((rc = row_scan_next (&scan)) == SQLITE_ROW)
        {
          const guint8 *geom = NULL;
          gsize geom_len = 0;

          read_values (scan.stmt, src, values);
          if (src->kind != DOTHI_GEOMETRY_KIND_NONE
              && sqlite3_column_type (scan.stmt, (int) nf + 1) == SQLITE_BLOB)
            {
              if (!dothi_blob_to_wkb (sqlite3_column_blob (scan.stmt, (int) nf + 1),
                                      (gsize) sqlite3_column_bytes (scan.stmt, (int) nf + 1),
                                      wkb, NULL))
                {
                  unreadable_geometry (scan.stmt, src->name, error);
                  goto fail;
                }
              geom = wkb->data;
              geom_len = wkb->len;
            }
          if (!dothi_store_insert_feature (store, info->name, values, geom, geom_len, error))
            goto fail;
        }
      if (rc != SQLITE_DONE)
        {
          set_db_error (db, src->name, NULL, error);
          goto fail;
        }
      row_scan_clear (&scan);
    }

  if (!dothi_store_finish_layer (store, info->name, error))
    goto fail;
  action_id = dothi_spatialite_store_get_action_id (DOTHI_SPATIALITE_STORE (store));
  if (!dothi_store_commit (store, error))
    return 0;
  if (table != NULL)
    *table = g_steal_pointer (&slug);
  return action_id;

fail:
  row_scan_clear (&scan);
  dothi_store_rollback (store);
  return 0;
}

/* ---- saved queries ----------------------------------------------------- */

void
dothi_saved_query_free (DothiSavedQuery *saved)
{
  if (saved == NULL)
    return;
  g_free (saved->name);
  g_free (saved->layer);
  g_free (saved->text);
  g_free (saved->note);
  g_free (saved->modified);
  g_free (saved);
}

static sqlite3 *
project_db (DothiProject *project, GError **error)
{
  DothiStore *store = dothi_project_get_store (project);

  if (!DOTHI_IS_SPATIALITE_STORE (store))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: project file */
                   _("Saved queries of “%s” need a SpatiaLite project"),
                   dothi_project_get_path (project));
      return NULL;
    }
  return dothi_spatialite_store_get_db (DOTHI_SPATIALITE_STORE (store));
}

static gboolean
has_queries_table (sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;

  return sqlite3_prepare_v2 (db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                             "AND name = 'dothi_queries'", -1, &stmt, NULL) == SQLITE_OK
         && sqlite3_step (stmt) == SQLITE_ROW;
}


static gboolean
exec_sql (sqlite3 *db, const char *sql, const char *path, GError **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return set_db_error (db, path, NULL, error);
  return TRUE;
}

/* BEGIN IMMEDIATE on the project's connection: saved queries are not
 * features, so they are no action in the history. */
static sqlite3 *
begin_write (DothiProject *project, GError **error)
{
  const char *path = dothi_project_get_path (project);
  sqlite3 *db;

  if (dothi_project_get_read_only (project))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_READ_ONLY,
                   _("Project “%s” is open read-only"), path);
      return NULL;
    }
  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (sqlite3_exec (db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    {
      if ((sqlite3_extended_errcode (db) & 0xff) == SQLITE_BUSY)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_BUSY,
                     /* Translators: project file */
                     _("Another program is writing to “%s”; try again when it has finished"),
                     path);
      else
        set_db_error (db, path, NULL, error);
      return NULL;
    }
  return db;
}

static gboolean
end_write (sqlite3 *db, gboolean ok, const char *path, GError **error)
{
  if (ok && exec_sql (db, "COMMIT", path, error))
    return TRUE;
  if (!sqlite3_get_autocommit (db))
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* Creates dothi_queries inside the open transaction. */
static gboolean
ensure_queries_table (sqlite3 *db, const char *path, GError **error)
{
  return dothi_spatialite_ensure_own_table (db, "dothi_queries",
                                            "CREATE TABLE IF NOT EXISTS dothi_queries (\n"
                                            "  name TEXT PRIMARY KEY,\n"
                                            "  layer TEXT NOT NULL,\n"
                                            "  text TEXT NOT NULL,\n"
                                            "  note TEXT,\n"
                                            "  created TEXT NOT NULL,\n"
                                            "  modified TEXT NOT NULL)", path, error);
}

gboolean
dothi_saved_query_store (DothiProject  *project,
                         const char    *name,
                         const char    *layer,
                         const char    *text,
                         const char    *note,
                         GError       **error)
{
  g_autoptr(DothiLayerInfo) info = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;
  const char *path;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (layer != NULL, FALSE);

  path = dothi_project_get_path (project);
  clean = g_strstrip (g_utf8_normalize (name, -1, G_NORMALIZE_NFC));
  if (clean == NULL || clean[0] == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: project file */
                   _("A query saved in “%s” needs a name"), path);
      return FALSE;
    }
  info = dothi_project_get_layer (project, layer, error);
  if (info == NULL)
    return FALSE;

  db = begin_write (project, error);
  if (db == NULL)
    return FALSE;
  ok = ensure_queries_table (db, path, error);
  if (ok)
    {
      ok = sqlite3_prepare_v2 (db,
                               "INSERT INTO dothi_queries (name, layer, text, note, created, modified) "
                               "VALUES (?1, ?2, ?3, ?4, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
                               "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
                               "ON CONFLICT (name) DO UPDATE SET layer = excluded.layer, "
                               "text = excluded.text, note = excluded.note, "
                               "modified = excluded.modified", -1, &stmt, NULL) == SQLITE_OK
           && sqlite3_bind_text (stmt, 1, clean, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_bind_text (stmt, 2, info->name, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_bind_text (stmt, 3, text ? text : "", -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_bind_text (stmt, 4, note, -1, SQLITE_TRANSIENT) == SQLITE_OK
           && sqlite3_step (stmt) == SQLITE_DONE;
      if (!ok)
        set_db_error (db, path, NULL, error);
      g_clear_pointer (&stmt, sqlite3_finalize);
    }
  return end_write (db, ok, path, error);
}

static DothiSavedQuery *
saved_from_row (sqlite3_stmt *stmt)
{
  DothiSavedQuery *saved = g_new0 (DothiSavedQuery, 1);

  saved->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  saved->layer = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  saved->text = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  saved->note = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  saved->modified = g_strdup ((const char *) sqlite3_column_text (stmt, 4));
  return saved;
}

typedef struct {
  DothiSavedQuery *saved;
  char            *fold;
} SavedItem;

static int
compare_saved (gconstpointer a, gconstpointer b)
{
  const SavedItem *x = a, *y = b;
  int cmp = strcmp (x->fold, y->fold);

  return cmp != 0 ? cmp : strcmp (x->saved->name, y->saved->name);
}

GPtrArray *
dothi_saved_query_list (DothiProject  *project,
                        GError       **error)
{
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_saved_query_free);
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree SavedItem *items = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  if (!has_queries_table (db))
    return g_steal_pointer (&list);
  if (sqlite3_prepare_v2 (db, "SELECT name, layer, text, note, modified FROM dothi_queries",
                          -1, &stmt, NULL) != SQLITE_OK)
    {
      set_db_error (db, dothi_project_get_path (project), NULL, error);
      return NULL;
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (list, saved_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      set_db_error (db, dothi_project_get_path (project), NULL, error);
      return NULL;
    }

  /* Vietnamese order of the folded names (đ with d, tone marks after the
   * letters), then the names themselves so only equal names tie. */
  items = g_new0 (SavedItem, MAX (list->len, 1));
  for (guint i = 0; i < list->len; i++)
    {
      items[i].saved = g_ptr_array_index (list, i);
      items[i].fold = dothi_text_fold (items[i].saved->name);
    }
  qsort (items, list->len, sizeof (SavedItem), compare_saved);
  for (guint i = 0; i < list->len; i++)
    {
      list->pdata[i] = items[i].saved;
      g_free (items[i].fold);
    }
  return g_steal_pointer (&list);
}

static void
set_no_saved_query (const char *name, const char *path, GError **error)
{
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
               /* Translators: query name, project file */
               _("No query named “%s” is saved in “%s”"), name, path);
}

DothiSavedQuery *
dothi_saved_query_get (DothiProject  *project,
                       const char    *name,
                       GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;
  sqlite3 *db;
  int rc;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  db = project_db (project, error);
  if (db == NULL)
    return NULL;
  clean = g_strstrip (g_utf8_normalize (name, -1, G_NORMALIZE_NFC));
  if (clean == NULL || !has_queries_table (db))
    {
      set_no_saved_query (name, dothi_project_get_path (project), error);
      return NULL;
    }
  if (sqlite3_prepare_v2 (db, "SELECT name, layer, text, note, modified FROM dothi_queries "
                          "WHERE name = ?1", -1, &stmt, NULL) != SQLITE_OK
      || sqlite3_bind_text (stmt, 1, clean, -1, SQLITE_TRANSIENT) != SQLITE_OK)
    {
      set_db_error (db, dothi_project_get_path (project), NULL, error);
      return NULL;
    }
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    return saved_from_row (stmt);
  if (rc == SQLITE_DONE)
    set_no_saved_query (name, dothi_project_get_path (project), error);
  else
    set_db_error (db, dothi_project_get_path (project), NULL, error);
  return NULL;
}

gboolean
dothi_saved_query_delete (DothiProject  *project,
                          const char    *name,
                          GError       **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *clean = NULL;
  const char *path;
  sqlite3 *db;
  gboolean ok;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  path = dothi_project_get_path (project);
  clean = g_strstrip (g_utf8_normalize (name, -1, G_NORMALIZE_NFC));
  db = project_db (project, error);
  if (db == NULL)
    return FALSE;
  if (clean == NULL || !has_queries_table (db))
    {
      set_no_saved_query (name, path, error);
      return FALSE;
    }
  db = begin_write (project, error);
  if (db == NULL)
    return FALSE;
  ok = sqlite3_prepare_v2 (db, "DELETE FROM dothi_queries WHERE name = ?1", -1, &stmt, NULL) == SQLITE_OK
       && sqlite3_bind_text (stmt, 1, clean, -1, SQLITE_TRANSIENT) == SQLITE_OK
       && sqlite3_step (stmt) == SQLITE_DONE;
  if (!ok)
    set_db_error (db, path, NULL, error);
  else if (sqlite3_changes (db) == 0)
    {
      set_no_saved_query (name, path, error);
      ok = FALSE;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  return end_write (db, ok, path, error);
}

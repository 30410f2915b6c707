/* dothi-export.c: writes project layers through GDAL, reading them through
 * the store so any storage backend exports the same way. */
#define G_LOG_DOMAIN "dothi-export"

#include "config.h"
#include "dothi-export.h"
#include "dothi-export-private.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-progress.h"

#include <glib/gi18n-lib.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <math.h>
#include <string.h>

static const struct {
  const char *format;
  const char *ext;
  const char *driver;
  gboolean    multi_layer;
  gboolean    attributes;
} formats[] = {
  { "gpkg", "gpkg", "GPKG", TRUE, TRUE },
  { "geojson", "geojson", "GeoJSON", FALSE, TRUE },
  { "json", "json", "GeoJSON", FALSE, TRUE },
  { "csv", "csv", "CSV", FALSE, TRUE },
  { "shp", "shp", "ESRI Shapefile", FALSE, TRUE },
  { "shapefile", "shp", "ESRI Shapefile", FALSE, TRUE },
  { "dxf", "dxf", "DXF", FALSE, FALSE },
  { "dgn", "dgn", "DGN", FALSE, FALSE },
};

static int
find_format (const char *format, const char *path)
{
  const char *ext = NULL;

  if (format == NULL && path != NULL)
    {
      const char *dot = strrchr (path, '.');
      ext = dot ? dot + 1 : NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      if (format != NULL && (g_ascii_strcasecmp (format, formats[i].format) == 0
                             || g_ascii_strcasecmp (format, formats[i].driver) == 0))
        return (int) i;
      if (ext != NULL && g_ascii_strcasecmp (ext, formats[i].ext) == 0)
        return (int) i;
    }
  return -1;
}

const char *
dothi_export_driver_for (const char *format, const char *path)
{
  int i = find_format (format, path);
  return i < 0 ? NULL : formats[i].driver;
}

OGRwkbGeometryType
dothi_export_ogr_type (const DothiLayerInfo *info)
{
  OGRwkbGeometryType t;

  switch (info->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      t = wkbMultiPoint;
      break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      t = wkbMultiLineString;
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
      t = wkbMultiPolygon;
      break;
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      t = wkbUnknown;
      break;
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      return wkbNone;
    }
  return OGR_GT_SetModifier (t, info->has_z, info->has_m);
}

OGRFieldType
dothi_export_ogr_field_type (DothiFieldType type, OGRFieldSubType *sub)
{
  *sub = OFSTNone;
  switch (type)
    {
    case DOTHI_FIELD_INTEGER:
      return OFTInteger64;
    case DOTHI_FIELD_BOOLEAN:
      *sub = OFSTBoolean;
      return OFTInteger;
    case DOTHI_FIELD_REAL:
      return OFTReal;
    case DOTHI_FIELD_DATE:
      return OFTDate;
    case DOTHI_FIELD_DATETIME:
      return OFTDateTime;
    case DOTHI_FIELD_BLOB:
      return OFTBinary;
    case DOTHI_FIELD_TEXT:
    default:
      return OFTString;
    }
}

typedef struct {
  const DothiLayerInfo *info;
  gboolean              explode;     /* CAD formats take no MULTI geometries */
  OGRLayerH             layer;
  OGRFeatureDefnH       defn;
  GArray               *field_index;  /* int per layer field, -1 if dropped */
  const char           *path;
  GCancellable         *cancellable;
  DothiProgressFunc     progress;
  gpointer              progress_data;
  gint64                done;
  gint64                last_us;
} WriteState;

static gboolean
write_feature (gint64 fid, const DothiValue *values, const guint8 *wkb, gsize wkb_len,
               gpointer user_data, GError **error)
{
  WriteState *ws = user_data;
  g_auto(OGRFeatureH) f = OGR_F_Create (ws->defn);

  for (guint i = 0; i < ws->info->fields->len; i++)
    {
      const DothiField *fld = g_ptr_array_index (ws->info->fields, i);
      int idx = g_array_index (ws->field_index, int, i);
      const DothiValue *v = &values[i];

      if (idx < 0)
        continue;
      if (v->is_null)
        {
          OGR_F_SetFieldNull (f, idx);
          continue;
        }
      switch (fld->type)
        {
        case DOTHI_FIELD_INTEGER:
        case DOTHI_FIELD_BOOLEAN:
          OGR_F_SetFieldInteger64 (f, idx, v->v.i);
          break;
        case DOTHI_FIELD_REAL:
          OGR_F_SetFieldDouble (f, idx, v->v.d);
          break;
        case DOTHI_FIELD_BLOB:
          OGR_F_SetFieldBinary (f, idx, (int) v->v.b.len, v->v.b.data);
          break;
        default:
          OGR_F_SetFieldString (f, idx, v->v.s ? v->v.s : "");
          break;
        }
    }
  if (wkb != NULL)
    {
      OGRGeometryH geom = NULL;
      if (OGR_G_CreateFromWkbEx (wkb, NULL, &geom, wkb_len) != OGRERR_NONE)
        goto failed;
      else
        {
          if (ws->explode && OGR_GT_IsSubClassOf (OGR_G_GetGeometryType (geom), wkbGeometryCollection))
            {
              /* One DXF/DGN element per part. */
              gboolean ok = TRUE;
              for (int i = 0; ok && i < OGR_G_GetGeometryCount (geom); i++)
                {
                  OGR_F_SetGeometry (f, OGR_G_GetGeometryRef (geom, i));
                  ok = OGR_L_CreateFeature (ws->layer, f) == OGRERR_NONE;
                  OGR_F_SetFID (f, OGRNullFID);
                }
              OGR_G_DestroyGeometry (geom);
              if (!ok)
                goto failed;
              goto written;
            }
          OGR_F_SetGeometryDirectly (f, geom);
        }
    }
  if (OGR_L_CreateFeature (ws->layer, f) != OGRERR_NONE)
    {
    failed:
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: feature id, layer, output file, GDAL's message */
                   _("Cannot write feature %lld of layer “%s” to “%s”: %s"),
                   (long long) fid, ws->info->name, ws->path, CPLGetLastErrorMsg ());
      CPLErrorReset ();
      return FALSE;
    }
written:
  ws->done++;
  if ((ws->done & 0x3ff) == 0)
    {
      gint64 now = g_get_monotonic_time ();
      if (g_cancellable_set_error_if_cancelled (ws->cancellable, error))
        return FALSE;
      if (ws->progress != NULL && now - ws->last_us > 100000)
        {
          ws->last_us = now;
          ws->progress (ws->info->feature_count > 0 ? ws->done / (double) ws->info->feature_count : -1.0,
                        _("Writing features"), ws->progress_data);
        }
    }
  return TRUE;
}

static gboolean
export_layer (DothiProject *project, GDALDatasetH ds, int fmt, const DothiLayerInfo *info,
              const char *path, GCancellable *cancellable, DothiProgressFunc progress,
              gpointer progress_data, GError **error)
{
  g_auto(OGRSpatialReferenceH) srs = NULL;
  char **options = NULL;
  WriteState ws = { 0 };
  gboolean ok;

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE && info->srid > 0)
    {
      srs = dothi_crs_new_srs (info->srid, error);
      if (srs == NULL)
        return FALSE;
    }
  if (g_strcmp0 (formats[fmt].driver, "ESRI Shapefile") == 0)
    options = CSLSetNameValue (options, "ENCODING", "UTF-8");   /* writes the .cpg */
  else if (g_strcmp0 (formats[fmt].driver, "CSV") == 0)
    options = CSLSetNameValue (options, "GEOMETRY", "AS_WKT");
  else if (g_strcmp0 (formats[fmt].driver, "GeoJSON") == 0)
    options = CSLSetNameValue (options, "RFC7946", "NO");   /* keep VN-2000 coordinates */
  else if (g_strcmp0 (formats[fmt].driver, "GPKG") == 0)
    options = CSLSetNameValue (options, "FID", "fid");

  ws.layer = GDALDatasetCreateLayer (ds, info->name, srs, dothi_export_ogr_type (info), options);
  CSLDestroy (options);
  if (ws.layer == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: layer, output file, GDAL's message */
                   _("Cannot create layer “%s” in “%s”: %s"), info->name, path, CPLGetLastErrorMsg ());
      return FALSE;
    }

  ws.field_index = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < info->fields->len; i++)
    {
      const DothiField *fld = g_ptr_array_index (info->fields, i);
      int idx = -1;

      if (formats[fmt].attributes)
        {
          OGRFieldSubType sub;
          OGRFieldType type = dothi_export_ogr_field_type (fld->type, &sub);
          OGRFieldDefnH fd;

          fd = OGR_Fld_Create (fld->name, type);
          OGR_Fld_SetSubType (fd, sub);
          if (OGR_L_CreateField (ws.layer, fd, TRUE) == OGRERR_NONE)
            idx = OGR_FD_GetFieldCount (OGR_L_GetLayerDefn (ws.layer)) - 1;
          OGR_Fld_Destroy (fd);
        }
      g_array_append_val (ws.field_index, idx);
    }

  ws.info = info;
  ws.explode = !formats[fmt].attributes;
  ws.defn = OGR_L_GetLayerDefn (ws.layer);
  ws.path = path;
  ws.cancellable = cancellable;
  ws.progress = progress;
  ws.progress_data = progress_data;

  /* Drivers without transactions (Shapefile, DXF) write directly. */
  if (OGR_L_StartTransaction (ws.layer) != OGRERR_NONE)
    CPLErrorReset ();
  ok = dothi_store_read_features (dothi_project_get_store (project), info->name, NULL,
                                  write_feature, &ws, cancellable, error);
  if (ok && OGR_L_CommitTransaction (ws.layer) != OGRERR_NONE)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot create layer “%s” in “%s”: %s"), info->name, path, CPLGetLastErrorMsg ());
      ok = FALSE;
    }
  g_array_unref (ws.field_index);
  return ok;
}

gboolean
dothi_export_sync (DothiProject *project, const char * const *layers, const char *path,
                   const char *format, GCancellable *cancellable,
                   DothiProgressFunc progress, gpointer progress_data, GError **error)
{
  g_autoptr(GPtrArray) chosen = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_layer_info_free);
  GDALDriverH driver;
  GDALDatasetH ds;
  char **dsco = NULL;
  int fmt;
  gboolean ok = TRUE;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  fmt = find_format (format, path);
  if (fmt < 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: a format name or file name */
                   _("Dothi cannot tell which format to write for “%s”; use GeoPackage, GeoJSON, CSV, Shapefile, DXF or DGN"),
                   format ? format : path);
      return FALSE;
    }
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_EXISTS,
                   _("“%s” already exists; choose another name"), path);
      return FALSE;
    }

  if (layers != NULL && layers[0] != NULL)
    for (guint i = 0; layers[i] != NULL; i++)
      {
        DothiLayerInfo *info = dothi_project_get_layer (project, layers[i], error);
        if (info == NULL)
          return FALSE;
        g_ptr_array_add (chosen, info);
      }
  else
    {
      g_autoptr(GPtrArray) all = dothi_project_list_layers (project, error);
      if (all == NULL)
        return FALSE;
      for (guint i = 0; i < all->len; i++)
        g_ptr_array_add (chosen, dothi_layer_info_copy (g_ptr_array_index (all, i)));
    }
  if (chosen->len == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   _("Project “%s” has no layers to export"), dothi_project_get_path (project));
      return FALSE;
    }
  if (chosen->len > 1 && !formats[fmt].multi_layer)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   /* Translators: a format name */
                   _("%s holds one layer per file; choose it with --layer"), formats[fmt].driver);
      return FALSE;
    }

  driver = GDALGetDriverByName (formats[fmt].driver);
  if (driver == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   _("This GDAL has no %s driver"), formats[fmt].driver);
      return FALSE;
    }
  if (g_strcmp0 (formats[fmt].driver, "DGN") == 0)
    {
      /* DGN v7 files are 3D only when their seed is; the layer decides. */
      const DothiLayerInfo *info = g_ptr_array_index (chosen, 0);
      g_autofree char *origin = NULL;
      char x[G_ASCII_DTOSTR_BUF_SIZE], y[G_ASCII_DTOSTR_BUF_SIZE];

      dsco = CSLSetNameValue (dsco, "3D", info->has_z ? "YES" : "NO");
      /* DGN stores integer units from the seed's origin (0, 0): without
       * an origin at the layer's corner, negative coordinates collapse. */
      g_ascii_dtostr (x, sizeof x, floor (info->extent[0]));
      g_ascii_dtostr (y, sizeof y, floor (info->extent[1]));
      origin = g_strdup_printf ("%s,%s,0", x, y);
      dsco = CSLSetNameValue (dsco, "ORIGIN", origin);
    }
  /* GDAL's messages become part of Dothi's, never printed on their own. */
  CPLPushErrorHandler (CPLQuietErrorHandler);
  ds = GDALCreate (driver, path, 0, 0, 0, GDT_Unknown, dsco);
  CSLDestroy (dsco);
  if (ds == NULL)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   /* Translators: output file, GDAL's message */
                   _("Cannot create “%s”: %s"), path, CPLGetLastErrorMsg ());
      CPLPopErrorHandler ();
      return FALSE;
    }

  for (guint i = 0; ok && i < chosen->len; i++)
    ok = export_layer (project, ds, fmt, g_ptr_array_index (chosen, i), path, cancellable,
                       progress, progress_data, error);
  CPLErrorReset ();
  GDALClose (ds);
  if (ok && CPLGetLastErrorType () >= CE_Failure)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_FAILED,
                   _("Cannot create “%s”: %s"), path, CPLGetLastErrorMsg ());
      ok = FALSE;
    }
  if (!ok)
    GDALDeleteDataset (driver, path);
  CPLPopErrorHandler ();
  return ok;
}

/* ---- async ------------------------------------------------------------- */

typedef struct {
  char             *project_path;
  GStrv             layers;
  char             *path;
  char             *format;
  DothiProgressFunc progress;
  gpointer          progress_data;
  GMainContext     *context;
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->project_path);
  g_strfreev (job->layers);
  g_free (job->path);
  g_free (job->format);
  g_main_context_unref (job->context);
  g_free (job);
}

static void
relay_progress (double fraction, const char *stage, gpointer data)
{
  ExportJob *job = data;

  dothi_progress_post (job->context, job->progress, job->progress_data, fraction, stage);
}

static void
export_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  ExportJob *job = task_data;
  g_autoptr(DothiProject) own = NULL;
  GError *error = NULL;

  /* The worker reads through a connection of its own (DESIGN.md §7). */
  own = dothi_project_open (job->project_path, DOTHI_PROJECT_OPEN_READ_ONLY, &error);
  if (own == NULL
      || !dothi_export_sync (own, (const char * const *) job->layers, job->path, job->format,
                             cancellable, job->progress ? relay_progress : NULL, job, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
dothi_export_async (DothiProject *project, const char * const *layers, const char *path,
                    const char *format, GCancellable *cancellable,
                    DothiProgressFunc progress, gpointer progress_data,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  ExportJob *job;

  g_return_if_fail (DOTHI_IS_PROJECT (project));
  g_return_if_fail (path != NULL);

  job = g_new0 (ExportJob, 1);
  job->project_path = g_strdup (dothi_project_get_path (project));
  job->layers = g_strdupv ((char **) layers);
  job->path = g_strdup (path);
  job->format = g_strdup (format);
  job->progress = progress;
  job->progress_data = progress_data;
  job->context = g_main_context_ref_thread_default ();
  task = g_task_new (project, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_export_async);
  /* The result says what happened: a cancel after the file was complete
   * does not hide it. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  g_task_run_in_thread (task, export_thread);
}

gboolean
dothi_export_finish (DothiProject *project, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, project), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

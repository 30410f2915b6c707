/* dothi-import.c: reads GDAL layers (and EPANET models) into the project:
 * text decoded to NFC UTF-8, geometries made MULTI and put in the project
 * CRS (VN-2000 zones kept bit for bit), all in one transaction. */
#define G_LOG_DOMAIN "dothi-import"

#include "config.h"
#include "dothi-import.h"
#include "dothi-autocleanups.h"
#include "dothi-crs.h"
#include "dothi-encoding.h"
#include "dothi-epanet.h"
#include "dothi-error.h"
#include "dothi-progress.h"
#include "dothi-spatialite-store.h"

#include <glib/gi18n-lib.h>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <math.h>
#include <string.h>

/* How the bytes of a layer's strings reach us. */
typedef enum {
  TEXT_UTF8,    /* the driver decodes to UTF-8 */
  TEXT_RAW,     /* the driver passes the file's bytes through */
  TEXT_LATIN1,  /* the driver was told the file is Latin-1: undo it for the bytes */
} TextMode;

struct _DothiImport
{
  GObject        parent_instance;

  DothiProject  *project;
  char          *source;
  GStrv          layers;
  char          *encoding;
  GStrv          caps_fields;
  char          *source_crs;
  char          *target_name;
  gboolean       make_valid;
  GPtrArray     *reports;
};

G_DEFINE_FINAL_TYPE (DothiImport, dothi_import, G_TYPE_OBJECT)

/* GDAL messages of one operation, collected instead of printed. */
typedef struct {
  GString *failures;
} ErrorSink;

static void CPL_STDCALL
collect_cpl_error (CPLErr klass, CPLErrorNum num, const char *msg)
{
  ErrorSink *sink = CPLGetErrorHandlerUserData ();

  if (klass >= CE_Failure && sink != NULL && msg != NULL)
    {
      if (sink->failures->len > 0)
        g_string_append (sink->failures, "; ");
      g_string_append (sink->failures, msg);
    }
}

static void
sink_push (ErrorSink *sink)
{
  sink->failures = g_string_new (NULL);
  CPLPushErrorHandlerEx (collect_cpl_error, sink);
}

static char *
sink_pop (ErrorSink *sink)
{
  CPLPopErrorHandler ();
  if (sink->failures->len == 0)
    {
      g_string_free (sink->failures, TRUE);
      return NULL;
    }
  return g_string_free (sink->failures, FALSE);
}

/* ---- reports and previews ---------------------------------------------- */

void
dothi_import_preview_free (DothiImportPreview *preview)
{
  if (preview == NULL)
    return;
  g_free (preview->source_layer);
  g_free (preview->table);
  g_free (preview->source_crs);
  g_free (preview->encoding);
  g_ptr_array_unref (preview->fields);
  g_free (preview);
}

static void
field_preview_free (DothiImportFieldPreview *fp)
{
  g_free (fp->name);
  g_ptr_array_unref (fp->samples);
  g_free (fp);
}

void
dothi_import_report_free (DothiImportReport *report)
{
  if (report == NULL)
    return;
  g_free (report->source_layer);
  g_free (report->table);
  g_free (report->title);
  g_array_unref (report->invalid_fids);
  g_free (report->operation);
  g_free (report->encoding);
  g_free (report);
}

/* ---- GObject ----------------------------------------------------------- */

static void
dothi_import_finalize (GObject *object)
{
  DothiImport *self = DOTHI_IMPORT (object);

  g_clear_object (&self->project);
  g_free (self->source);
  g_strfreev (self->layers);
  g_free (self->encoding);
  g_strfreev (self->caps_fields);
  g_free (self->source_crs);
  g_free (self->target_name);
  g_ptr_array_unref (self->reports);
  G_OBJECT_CLASS (dothi_import_parent_class)->finalize (object);
}

static void
dothi_import_class_init (DothiImportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dothi_import_finalize;
}

static void
dothi_import_init (DothiImport *self)
{
  self->reports = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_import_report_free);
}

DothiImport *
dothi_import_new (DothiProject *project, const char *source)
{
  DothiImport *self;

  g_return_val_if_fail (DOTHI_IS_PROJECT (project), NULL);
  g_return_val_if_fail (source != NULL, NULL);

  self = g_object_new (DOTHI_TYPE_IMPORT, NULL);
  self->project = g_object_ref (project);
  self->source = g_strdup (source);
  return self;
}

void
dothi_import_set_layers (DothiImport *self, const char * const *layers)
{
  g_return_if_fail (DOTHI_IS_IMPORT (self));
  g_strfreev (self->layers);
  self->layers = layers && layers[0] ? g_strdupv ((char **) layers) : NULL;
}

void
dothi_import_set_encoding (DothiImport *self, const char *encoding)
{
  g_return_if_fail (DOTHI_IS_IMPORT (self));
  g_free (self->encoding);
  self->encoding = encoding && g_ascii_strcasecmp (encoding, "auto") != 0 ? g_strdup (encoding) : NULL;
}

void
dothi_import_set_caps_fields (DothiImport *self, const char * const *fields)
{
  g_return_if_fail (DOTHI_IS_IMPORT (self));
  g_strfreev (self->caps_fields);
  self->caps_fields = fields ? g_strdupv ((char **) fields) : NULL;
}

void
dothi_import_set_source_crs (DothiImport *self, const char *crs)
{
  g_return_if_fail (DOTHI_IS_IMPORT (self));
  g_free (self->source_crs);
  self->source_crs = g_strdup (crs);
}

void
dothi_import_set_make_valid (DothiImport *self, gboolean make_valid)
{
  g_return_if_fail (DOTHI_IS_IMPORT (self));
  self->make_valid = !!make_valid;
}

void
dothi_import_set_target_name (DothiImport *self, const char *title)
{
  g_return_if_fail (DOTHI_IS_IMPORT (self));
  g_free (self->target_name);
  self->target_name = g_strdup (title);
}

GPtrArray *
dothi_import_get_reports (DothiImport *self)
{
  g_return_val_if_fail (DOTHI_IS_IMPORT (self), NULL);
  return self->reports;
}

/* ---- opening the source ------------------------------------------------ */

typedef struct {
  GDALDatasetH  ds;
  char         *display;     /* the user's path, for messages */
  char         *driver;
  char         *vsimem;      /* a rewritten copy to unlink, or NULL */
  TextMode      mode;
  char         *file_encoding; /* from .cpg / LDID, or NULL */
} Source;

static void
source_clear (Source *src)
{
  if (src->ds != NULL)
    GDALClose (src->ds);
  if (src->vsimem != NULL)
    VSIUnlink (src->vsimem);
  g_free (src->display);
  g_free (src->driver);
  g_free (src->vsimem);
  g_free (src->file_encoding);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Source, source_clear)

static gboolean
has_magic (const char *path, const guint8 *magic, gsize len)
{
  guint8 buf[16] = { 0 };
  VSILFILE *fp = VSIFOpenL (path, "rb");
  gsize got;

  if (fp == NULL)
    return FALSE;
  got = VSIFReadL (buf, 1, len, fp);
  VSIFCloseL (fp);
  return got == len && memcmp (buf, magic, len) == 0;
}

/* GDAL 3.6 refuses GeoJSON whose top level is a bare array of Features, as
 * osmtogeojson and some web exports write: wrap it in a FeatureCollection. */
static gint wrapped_serial;

static char *
wrap_feature_array (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;
  const char *p;
  char *mem;
  GString *wrapped;
  VSILFILE *fp;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  for (p = contents; p < contents + len && g_ascii_isspace (*p); p++)
    ;
  if (p >= contents + len || *p != '[')
    return NULL;
  wrapped = g_string_sized_new (len + 64);
  g_string_append (wrapped, "{\"type\":\"FeatureCollection\",\"features\":");
  g_string_append_len (wrapped, p, (gssize) (contents + len - p));
  g_string_append (wrapped, "}");
  mem = g_strdup_printf ("/vsimem/dothi-%u.geojson", (guint) g_atomic_int_add (&wrapped_serial, 1));
  fp = VSIFileFromMemBuffer (mem, (GByte *) wrapped->str, wrapped->len, TRUE);
  g_string_free (wrapped, FALSE);  /* VSI owns the buffer now */
  if (fp == NULL)
    {
      g_free (mem);
      return NULL;
    }
  VSIFCloseL (fp);
  return mem;
}

/* A zip holding the dataset in a sub-folder: the first folder or file
 * GDAL can open. */
static char *
find_in_zip (const char *vsi)
{
  char **entries = VSIReadDirRecursive (vsi);
  char *found = NULL;

  for (int i = 0; entries != NULL && entries[i] != NULL && found == NULL; i++)
    {
      const char *e = entries[i];
      if (g_str_has_suffix (e, ".shp") || g_str_has_suffix (e, ".SHP"))
        {
          g_autofree char *dir = g_path_get_dirname (e);
          found = g_strcmp0 (dir, ".") == 0 ? g_strdup_printf ("%s/%s", vsi, e)
                                            : g_strdup_printf ("%s/%s", vsi, dir);
        }
      else if (g_str_has_suffix (e, ".gdb/") || g_str_has_suffix (e, ".gdb"))
        found = g_strdup_printf ("%s/%s", vsi, e);
    }
  CSLDestroy (entries);
  return found;
}

static const char *
basename_ext (const char *path)
{
  const char *dot = strrchr (path, '.');
  const char *slash = strrchr (path, '/');

  if (dot == NULL || (slash != NULL && dot < slash))
    return "";
  return dot + 1;
}

/* The encoding a shapefile declares, from its .cpg or its DBF header. */
static char *
shapefile_declared_encoding (GDALDatasetH ds)
{
  char **files = GDALGetFileList (ds);
  char *enc = NULL;

  for (int i = 0; files != NULL && files[i] != NULL && enc == NULL; i++)
    if (g_ascii_strcasecmp (basename_ext (files[i]), "cpg") == 0)
      {
        VSILFILE *fp = VSIFOpenL (files[i], "rb");
        char buf[256];
        gsize got;

        if (fp == NULL)
          continue;
        got = VSIFReadL (buf, 1, sizeof buf - 1, fp);
        VSIFCloseL (fp);
        buf[got] = '\0';
        enc = g_strdup (dothi_encoding_from_cpg (buf, (gssize) got));
      }
  for (int i = 0; files != NULL && files[i] != NULL && enc == NULL; i++)
    if (g_ascii_strcasecmp (basename_ext (files[i]), "dbf") == 0)
      {
        VSILFILE *fp = VSIFOpenL (files[i], "rb");
        guint8 header[32];

        if (fp == NULL)
          continue;
        if (VSIFReadL (header, 1, sizeof header, fp) == sizeof header)
          enc = g_strdup (dothi_encoding_from_ldid (header[29]));
        VSIFCloseL (fp);
      }
  CSLDestroy (files);
  return enc;
}

static gboolean
shapefile_lacks_shp (GDALDatasetH ds)
{
  char **files = GDALGetFileList (ds);
  g_autofree char *dbf = NULL;
  gboolean has_shp = FALSE, has_sidecar = FALSE;

  for (int i = 0; files != NULL && files[i] != NULL; i++)
    {
      const char *ext = basename_ext (files[i]);
      if (g_ascii_strcasecmp (ext, "shp") == 0)
        has_shp = TRUE;
      else if (g_ascii_strcasecmp (ext, "shx") == 0 || g_ascii_strcasecmp (ext, "prj") == 0)
        has_sidecar = TRUE;
      else if (g_ascii_strcasecmp (ext, "dbf") == 0 && dbf == NULL)
        dbf = g_strdup (files[i]);
    }
  CSLDestroy (files);
  if (has_shp || dbf == NULL)
    return FALSE;
  if (has_sidecar)
    return TRUE;

  /* An index (.sbn, .sbx) or .shx beside the .dbf says a .shp belonged
   * there: a lone .dbf table has none. */
  {
    g_autofree char *dir = g_path_get_dirname (dbf);
    g_autofree char *base = g_path_get_basename (dbf);
    char **siblings = VSIReadDir (dir);
    gsize stem = strlen (base) - strlen (basename_ext (base));

    for (int i = 0; siblings != NULL && siblings[i] != NULL; i++)
      if (strlen (siblings[i]) > stem && g_ascii_strncasecmp (siblings[i], base, stem) == 0)
        {
          const char *ext = basename_ext (siblings[i]);
          if (g_ascii_strcasecmp (ext, "sbn") == 0 || g_ascii_strcasecmp (ext, "sbx") == 0
              || g_ascii_strcasecmp (ext, "shx") == 0)
            has_sidecar = TRUE;
        }
    CSLDestroy (siblings);
  }
  return has_sidecar;
}

static gboolean
open_source (DothiImport *self, Source *src, GError **error)
{
  static const char *open_options[] = {
    "ENCODING=",        /* Shapefile: hand us the DBF bytes, Dothi decodes them */
    "WRITE_GFS=NO",     /* GML: never write beside the user's file */
    "FLATTEN_NESTED_ATTRIBUTES=NO",
    /* CSV: a point per row from X/Y or WKT columns, under their usual
     * English and Vietnamese names (kinh độ, vĩ độ; tọa độ X is northing
     * in the Vietnamese survey convention, so x/y are not guessed). */
    "X_POSSIBLE_NAMES=lon,long,longitude,lng,easting,kinh_do,kinhdo,e",
    "Y_POSSIBLE_NAMES=lat,latitude,northing,vi_do,vido,n",
    "GEOM_POSSIBLE_NAMES=wkt,geom,geometry,the_geom,shape",
    "KEEP_GEOM_COLUMNS=YES",
    NULL,
  };
  const char *path = self->source;
  g_autofree char *open_path = NULL;
  ErrorSink sink;
  g_autofree char *gdal_msg = NULL;
  const char *ext = basename_ext (path);
  GDALDriverH driver;

  memset (src, 0, sizeof *src);
  src->display = g_strdup (path);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name */
                   _("File “%s” does not exist"), path);
      return FALSE;
    }

  if (dothi_epanet_probe (path))
    {
      src->ds = dothi_epanet_open (path, error);
      if (src->ds == NULL)
        return FALSE;
      src->driver = g_strdup ("EPANET");
      src->mode = TEXT_UTF8;
      return TRUE;
    }

  if (g_ascii_strcasecmp (ext, "zip") == 0)
    open_path = g_strconcat ("/vsizip/", path, NULL);
  else if (g_ascii_strcasecmp (ext, "gz") == 0)
    open_path = g_strconcat ("/vsigzip/", path, NULL);
  else
    open_path = g_strdup (path);

  if (g_ascii_strcasecmp (ext, "dgn") == 0
      && has_magic (path, (const guint8 *) "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: file name */
                   _("“%s” is a MicroStation DGN v8 file, which Dothi cannot read; save it as DGN v7 or DXF in MicroStation"),
                   path);
      return FALSE;
    }

  /* GML's field types come from the data: keep every value as text and
   * let Dothi type the columns, so codes such as 00001 keep their zeros.
   * GDAL 3.6 has this only as a configuration option; it is set for this
   * thread and this open only. DXF text is taken as Latin-1 so that its
   * bytes survive for Dothi's own decoding. */
  CPLSetThreadLocalConfigOption ("GML_FIELDTYPES", "ALWAYS_STRING");
  CPLSetThreadLocalConfigOption ("DXF_ENCODING", "ISO-8859-1");
  sink_push (&sink);
  src->ds = GDALOpenEx (open_path, GDAL_OF_VECTOR | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                        NULL, open_options, NULL);
  if (src->ds == NULL && g_str_has_prefix (open_path, "/vsizip/"))
    {
      g_autofree char *inner = find_in_zip (open_path);
      if (inner != NULL)
        src->ds = GDALOpenEx (inner, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, open_options, NULL);
    }
  if (src->ds == NULL && (g_ascii_strcasecmp (ext, "geojson") == 0 || g_ascii_strcasecmp (ext, "json") == 0))
    {
      src->vsimem = wrap_feature_array (path);
      if (src->vsimem != NULL)
        src->ds = GDALOpenEx (src->vsimem, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, open_options, NULL);
    }
  gdal_msg = sink_pop (&sink);
  CPLSetThreadLocalConfigOption ("GML_FIELDTYPES", NULL);
  CPLSetThreadLocalConfigOption ("DXF_ENCODING", NULL);

  if (src->ds == NULL && g_ascii_strcasecmp (ext, "dwg") == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                   /* Translators: file name */
                   _("Cannot read the DWG drawing “%s”: GDAL’s CAD driver reads only AutoCAD R2000 files; save it as DXF"),
                   path);
      return FALSE;
    }
  if (src->ds == NULL)
    {
      static const char *known[] = {
        "shp", "dbf", "shx", "dgn", "dxf", "gpkg", "geojson", "json", "kml", "kmz", "gml",
        "xml", "tab", "mif", "gdb", "zip", "gz", "csv", "osm", "pbf", "fgb", "sqlite",
        "db", "inp", NULL,
      };
      g_autofree char *lower = g_ascii_strdown (ext, -1);
      gboolean damaged;

      /* A file of a format Dothi reads that GDAL cannot open is damaged
       * (bad input); anything else is a format Dothi does not know. */
      CPLPushErrorHandler (CPLQuietErrorHandler);
      damaged = g_strv_contains (known, lower)
                || GDALIdentifyDriverEx (open_path, GDAL_OF_VECTOR, NULL, NULL) != NULL;
      CPLPopErrorHandler ();
      if (damaged)
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                     /* Translators: file name, then GDAL's own message */
                     _("Cannot read “%s”: the file is damaged or is not what its name says (%s)"),
                     path, gdal_msg ? gdal_msg : _("no details"));
      else
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_UNSUPPORTED,
                     /* Translators: file name, then GDAL's own message */
                     _("Cannot read “%s”: not a GIS format Dothi knows (%s)"),
                     path, gdal_msg ? gdal_msg : _("no details"));
      return FALSE;
    }

  driver = GDALGetDatasetDriver (src->ds);
  src->driver = g_strdup (driver ? GDALGetDriverShortName (driver) : "");

  if (g_strcmp0 (src->driver, "ESRI Shapefile") == 0)
    {
      if (shapefile_lacks_shp (src->ds))
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: file name */
                       _("Shapefile “%s” has no .shp file: its geometries are missing"), path);
          return FALSE;
        }
      src->mode = TEXT_RAW;
      src->file_encoding = shapefile_declared_encoding (src->ds);
    }
  else if (g_strcmp0 (src->driver, "DXF") == 0)
    src->mode = TEXT_LATIN1;
  else if (g_strcmp0 (src->driver, "DGN") == 0 || g_strcmp0 (src->driver, "CSV") == 0
           || g_strcmp0 (src->driver, "MapInfo File") == 0)
    src->mode = TEXT_RAW;
  else
    src->mode = TEXT_UTF8;
  return TRUE;
}

/* ---- per-layer plan ---------------------------------------------------- */

typedef struct {
  OGRLayerH          layer;
  char              *source_name;   /* decoded */
  DothiLayerInfo    *info;          /* target */
  GArray            *src_index;     /* int: OGR field index per target field */
  GArray            *caps;          /* gboolean per target field */
  OGRFieldType      *ogr_types;
  const char        *encoding;      /* for TEXT_RAW/LATIN1; NULL for UTF-8 */
  char              *encoding_owned;
  double             confidence;
  gboolean           detected;
  int                source_srid;
  char              *source_crs;
  OGRCoordinateTransformationH ct;
  char              *operation;
  gint64             count_hint;
  DothiImportReport *report;
} LayerPlan;

static void
layer_plan_free (LayerPlan *plan)
{
  g_free (plan->source_name);
  dothi_layer_info_free (plan->info);
  g_array_unref (plan->src_index);
  g_array_unref (plan->caps);
  g_free (plan->ogr_types);
  g_free (plan->encoding_owned);
  g_free (plan->source_crs);
  if (plan->ct != NULL)
    OCTDestroyCoordinateTransformation (plan->ct);
  g_free (plan->operation);
  dothi_import_report_free (plan->report);
  g_free (plan);
}

static gboolean
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* Turns the bytes of one string into NFC UTF-8 per the plan. */
static char *
decode_text (const LayerPlan *plan, TextMode mode, const char *bytes, gboolean caps, GError **error)
{
  if (is_ascii (bytes) && !caps)
    return g_strdup (bytes);

  if (mode == TEXT_LATIN1)
    {
      g_autofree char *raw = g_convert (bytes, -1, "ISO-8859-1", "UTF-8", NULL, NULL, NULL);
      if (raw == NULL)
        return dothi_encoding_nfc (bytes, -1);
      return dothi_encoding_decode (plan->encoding ? plan->encoding : DOTHI_ENCODING_UTF8,
                                    raw, -1, caps ? DOTHI_DECODE_TCVN3_CAPS : DOTHI_DECODE_NONE, error);
    }
  if (mode == TEXT_RAW)
    return dothi_encoding_decode (plan->encoding ? plan->encoding : DOTHI_ENCODING_UTF8,
                                  bytes, -1, caps ? DOTHI_DECODE_TCVN3_CAPS : DOTHI_DECODE_NONE, error);
  if (!g_utf8_validate (bytes, -1, NULL))
    return dothi_encoding_decode (DOTHI_ENCODING_UTF8, bytes, -1, DOTHI_DECODE_NONE, error);
  if (caps)
    {
      g_autofree char *up = g_utf8_strup (bytes, -1);
      return dothi_encoding_nfc (up, -1);
    }
  return dothi_encoding_nfc (bytes, -1);
}

static DothiGeometryKind
kind_from_ogr (OGRwkbGeometryType type)
{
  switch (wkbFlatten (type))
    {
    case wkbNone:
      return DOTHI_GEOMETRY_KIND_NONE;
    case wkbPoint:
    case wkbMultiPoint:
      return DOTHI_GEOMETRY_KIND_MULTIPOINT;
    case wkbLineString:
    case wkbMultiLineString:
    case wkbCircularString:
    case wkbCompoundCurve:
    case wkbMultiCurve:
      return DOTHI_GEOMETRY_KIND_MULTILINESTRING;
    case wkbPolygon:
    case wkbMultiPolygon:
    case wkbCurvePolygon:
    case wkbMultiSurface:
    case wkbTriangle:
    case wkbTIN:
    case wkbPolyhedralSurface:
      return DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
    default:
      return DOTHI_GEOMETRY_KIND_GEOMETRY;
    }
}

static DothiFieldType
field_type_from_ogr (OGRFieldDefnH defn)
{
  switch (OGR_Fld_GetType (defn))
    {
    case OFTInteger:
      return OGR_Fld_GetSubType (defn) == OFSTBoolean ? DOTHI_FIELD_BOOLEAN : DOTHI_FIELD_INTEGER;
    case OFTInteger64:
      return DOTHI_FIELD_INTEGER;
    case OFTReal:
      return DOTHI_FIELD_REAL;
    case OFTDate:
      return DOTHI_FIELD_DATE;
    case OFTDateTime:
      return DOTHI_FIELD_DATETIME;
    case OFTBinary:
      return DOTHI_FIELD_BLOB;
    default:
      return DOTHI_FIELD_TEXT;
    }
}

static gboolean
wanted_layer (DothiImport *self, const char *raw_name, const char *decoded)
{
  if (self->layers == NULL)
    return TRUE;
  return g_strv_contains ((const char * const *) self->layers, raw_name)
         || g_strv_contains ((const char * const *) self->layers, decoded);
}

/* Samples the raw strings of a layer (names and values) to detect its
 * encoding. */
static void
add_sample (GPtrArray *samples, TextMode mode, const char *s)
{
  if (is_ascii (s))
    return;
  if (mode == TEXT_LATIN1)
    {
      /* The driver read the bytes as Latin-1: detection needs them back. */
      char *raw = g_convert (s, -1, "ISO-8859-1", "UTF-8", NULL, NULL, NULL);
      if (raw != NULL)
        {
          g_ptr_array_add (samples, raw);
          return;
        }
    }
  g_ptr_array_add (samples, g_strdup (s));
}

static GPtrArray *
sample_strings (OGRLayerH layer, TextMode mode, guint max_features)
{
  GPtrArray *samples = g_ptr_array_new_with_free_func (g_free);
  OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
  OGRFeatureH f;
  guint n = 0;

  for (int i = 0; i < OGR_FD_GetFieldCount (defn); i++)
    {
      add_sample (samples, mode == TEXT_LATIN1 ? TEXT_UTF8 : mode,
                  OGR_Fld_GetNameRef (OGR_FD_GetFieldDefn (defn, i)));
    }
  OGR_L_ResetReading (layer);
  while (n < max_features && (f = OGR_L_GetNextFeature (layer)) != NULL)
    {
      for (int i = 0; i < OGR_FD_GetFieldCount (defn); i++)
        if (OGR_F_IsFieldSetAndNotNull (f, i)
            && OGR_Fld_GetType (OGR_FD_GetFieldDefn (defn, i)) == OFTString)
          add_sample (samples, mode, OGR_F_GetFieldAsString (f, i));
      OGR_F_Destroy (f);
      n++;
    }
  OGR_L_ResetReading (layer);
  return samples;
}

/* GML values all arrive as text: a column becomes REAL only where every
 * value is a decimal number with a fraction somewhere and no leading zero;
 * identifiers and codes (integers, 00001) stay text. */
static void
infer_gml_types (OGRLayerH layer, DothiFieldType *types, int n_fields, GCancellable *cancellable)
{
  guint n = 0;
  gboolean *numeric = g_new (gboolean, n_fields);
  gboolean *fraction = g_new0 (gboolean, n_fields);
  OGRFeatureH f;

  for (int i = 0; i < n_fields; i++)
    numeric[i] = TRUE;
  OGR_L_ResetReading (layer);
  while ((++n & 0x3ff || !g_cancellable_is_cancelled (cancellable))
         && (f = OGR_L_GetNextFeature (layer)) != NULL)
    {
      for (int i = 0; i < n_fields; i++)
        if (numeric[i] && OGR_F_IsFieldSetAndNotNull (f, i))
          {
            const char *s = OGR_F_GetFieldAsString (f, i);
            char *end = NULL;

            if (*s == '\0')
              continue;
            g_ascii_strtod (s, &end);
            if (end == s || *end != '\0'
                || (s[0] == '0' && g_ascii_isdigit (s[1]))
                || (s[0] == '-' && s[1] == '0' && g_ascii_isdigit (s[2])))
              numeric[i] = FALSE;
            else if (strchr (s, '.') != NULL || strchr (s, 'e') != NULL || strchr (s, 'E') != NULL)
              fraction[i] = TRUE;
          }
      OGR_F_Destroy (f);
    }
  OGR_L_ResetReading (layer);
  for (int i = 0; i < n_fields; i++)
    types[i] = numeric[i] && fraction[i] ? DOTHI_FIELD_REAL : DOTHI_FIELD_TEXT;
  g_free (numeric);
  g_free (fraction);
}

static char *
unique_table_name (DothiImport *self, GHashTable *taken, const char *title)
{
  DothiStore *store = dothi_project_get_store (self->project);
  g_autofree char *slug = dothi_slugify (title);
  g_autofree char *base = NULL;
  char *name;

  /* Names Dothi, SpatiaLite and SQLite keep for themselves. */
  if (g_str_has_prefix (slug, "dothi_") || g_str_has_prefix (slug, "idx_")
      || g_str_has_prefix (slug, "sqlite_") || g_str_has_prefix (slug, "rtree_"))
    base = g_strconcat ("l_", slug, NULL);
  else
    base = g_steal_pointer (&slug);
  name = g_strdup (base);

  for (int i = 2; dothi_store_has_table (store, name) || g_hash_table_contains (taken, name); i++)
    {
      g_free (name);
      name = g_strdup_printf ("%s_%d", base, i);
    }
  g_hash_table_add (taken, g_strdup (name));
  return name;
}

static gboolean
plan_crs (DothiImport *self, Source *src, LayerPlan *plan, GError **error)
{
  OGRSpatialReferenceH layer_srs = OGR_L_GetSpatialRef (plan->layer);
  int project_srid = dothi_project_get_srid (self->project);
  int srid = 0;

  if (plan->info->kind == DOTHI_GEOMETRY_KIND_NONE)
    return TRUE;

  if (self->source_crs != NULL)
    {
      srid = dothi_crs_parse (self->source_crs, error);
      if (srid == 0)
        return FALSE;
    }
  else if (layer_srs != NULL)
    {
      srid = dothi_crs_identify (layer_srs);
      if (srid == 0)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                       /* Translators: layer name, file name, CRS name */
                       _("The coordinate reference system of layer “%s” in “%s” (“%s”) matches no EPSG code; give it with --src-crs"),
                       plan->source_name, src->display, OSRGetName (layer_srs));
          return FALSE;
        }
    }
  else
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: layer name, file name */
                   _("Layer “%s” in “%s” has no coordinate reference system; give it with --src-crs (for example --src-crs EPSG:9218)"),
                   plan->source_name, src->display);
      return FALSE;
    }

  plan->source_srid = srid;
  plan->source_crs = dothi_crs_dup_name (srid);

  /* Coordinates of record in a VN-2000 projected zone stay as they are,
   * bit for bit (DESIGN.md §2). */
  if (srid == project_srid || (dothi_crs_is_vn2000 (srid) && srid != 4756))
    {
      plan->info->srid = srid;
      return TRUE;
    }

  {
    g_autoptr(PJ_CONTEXT) ctx = proj_context_create ();
    g_autofree char *from = g_strdup_printf ("EPSG:%d", srid);
    g_autofree char *to = g_strdup_printf ("EPSG:%d", project_srid);
    g_autoptr(PJ) pj = NULL;
    g_autoptr(PJ) op = NULL;
    g_autoptr(PJ) norm = NULL;
    OGRSpatialReferenceH s_srs, t_srs;
    OGRCoordinateTransformationOptionsH options;
    OGREnvelope env;
    PJ_COORD c;

    /* Failures reach the user through Dothi's own messages. */
    proj_log_level (ctx, PJ_LOG_NONE);
    pj = proj_create_crs_to_crs (ctx, from, to, NULL);
    if (pj != NULL)
      norm = proj_normalize_for_visualization (ctx, pj);
    if (norm == NULL)
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                     /* Translators: two CRS codes, then a layer name */
                     _("PROJ has no transformation from %s to %s for layer “%s”"), from, to,
                     plan->source_name);
        return FALSE;
      }

    /* The operation PROJ picks for the layer's centre is used for every
     * point and recorded in the registry. */
    if (OGR_L_GetExtent (plan->layer, &env, TRUE) == OGRERR_NONE)
      c = proj_coord ((env.MinX + env.MaxX) / 2, (env.MinY + env.MaxY) / 2, 0, 0);
    else
      c = proj_coord (0, 0, 0, 0);
    proj_trans (norm, PJ_FWD, c);
    op = proj_trans_get_last_used_operation (norm);
    if (op == NULL)
      op = proj_clone (ctx, norm);

    plan->operation = g_strdup (proj_get_name (op));
    s_srs = dothi_crs_new_srs (srid, error);
    t_srs = s_srs ? dothi_crs_new_srs (project_srid, error) : NULL;
    if (t_srs == NULL)
      {
        if (s_srs)
          OSRRelease (s_srs);
        return FALSE;
      }
    /* OGR picks each point's operation the way PROJ picked the centre's
     * (by area of use); where one operation covers the layer, as EPSG:6960
     * covers Vietnam, that is the one recorded. */
    options = OCTNewCoordinateTransformationOptions ();
    plan->ct = OCTNewCoordinateTransformationEx (s_srs, t_srs, options);
    OCTDestroyCoordinateTransformationOptions (options);
    OSRRelease (s_srs);
    OSRRelease (t_srs);
    if (plan->ct == NULL)
      {
        g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                     _("PROJ has no transformation from %s to %s for layer “%s”"), from, to,
                     plan->source_name);
        return FALSE;
      }
    plan->info->srid = project_srid;
  }
  return TRUE;
}

/* Drivers whose layer type is "unknown" or 2D for 3D data (DGN, DXF, KML,
 * MapInfo, CSV with WKT) get their geometries scanned once. */
static gboolean
driver_knows_geometry_types (const char *driver, OGRwkbGeometryType gtype)
{
  static const char *vague[] = { "DGN", "DXF", "KML", "LIBKML", "MapInfo File", "CSV", "CAD", NULL };
  OGRwkbGeometryType flat = wkbFlatten (gtype);

  if (flat == wkbUnknown || flat == wkbGeometryCollection)
    return FALSE;
  return !g_strv_contains (vague, driver);
}

static void
scan_geometry_types (OGRLayerH layer, DothiLayerInfo *info, GCancellable *cancellable)
{
  guint n = 0;
  gboolean points = FALSE, lines = FALSE, polygons = FALSE, other = FALSE;
  gboolean z = FALSE, m = FALSE;
  OGRFeatureH f;

  OGR_L_ResetReading (layer);
  while ((++n & 0x3ff || !g_cancellable_is_cancelled (cancellable))
         && (f = OGR_L_GetNextFeature (layer)) != NULL)
    {
      OGRGeometryH g = OGR_F_GetGeometryRef (f);

      if (g != NULL && !OGR_G_IsEmpty (g))
        {
          DothiGeometryKind k = kind_from_ogr (OGR_G_GetGeometryType (g));

          points |= k == DOTHI_GEOMETRY_KIND_MULTIPOINT;
          lines |= k == DOTHI_GEOMETRY_KIND_MULTILINESTRING;
          polygons |= k == DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
          other |= k == DOTHI_GEOMETRY_KIND_GEOMETRY;
          z |= OGR_G_Is3D (g);
          m |= OGR_G_IsMeasured (g);
        }
      OGR_F_Destroy (f);
    }
  OGR_L_ResetReading (layer);

  if (other || points + lines + polygons > 1)
    info->kind = DOTHI_GEOMETRY_KIND_GEOMETRY;
  else if (points)
    info->kind = DOTHI_GEOMETRY_KIND_MULTIPOINT;
  else if (lines)
    info->kind = DOTHI_GEOMETRY_KIND_MULTILINESTRING;
  else if (polygons)
    info->kind = DOTHI_GEOMETRY_KIND_MULTIPOLYGON;
  info->has_z = info->has_z || z;
  info->has_m = info->has_m || m;
}

/* Code pages a Vietnamese legacy-font file is often mislabelled with. */
static gboolean
is_western_code_page (const char *encoding)
{
  static const char *western[] = { "CP1252", "ISO-8859-1", "LATIN1", "CP437", "CP850", NULL };
  return g_strv_contains (western, encoding);
}

static GPtrArray *
make_plans (DothiImport *self, Source *src, gboolean for_preview, GCancellable *cancellable,
            GError **error)
{
  g_autoptr(GPtrArray) plans = g_ptr_array_new_with_free_func ((GDestroyNotify) layer_plan_free);
  g_autoptr(GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int n_layers = GDALDatasetGetLayerCount (src->ds);
  guint n_wanted_found = 0;

  for (int li = 0; li < n_layers; li++)
    {
      OGRLayerH layer = GDALDatasetGetLayer (src->ds, li);
      OGRFeatureDefnH defn = OGR_L_GetLayerDefn (layer);
      const char *raw_name = OGR_L_GetName (layer);
      int n_fields = OGR_FD_GetFieldCount (defn);
      g_autofree DothiFieldType *types = g_new0 (DothiFieldType, MAX (n_fields, 1));
      g_autoptr(GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      OGRwkbGeometryType gtype = OGR_L_GetGeomType (layer);
      LayerPlan *plan;
      g_autoptr(GError) local_error = NULL;

      plan = g_new0 (LayerPlan, 1);
      plan->layer = layer;
      plan->src_index = g_array_new (FALSE, FALSE, sizeof (int));
      plan->caps = g_array_new (FALSE, FALSE, sizeof (gboolean));
      plan->ogr_types = g_new0 (OGRFieldType, MAX (n_fields, 1));
      g_ptr_array_add (plans, plan);

      /* Encoding of this layer's bytes. */
      if (src->mode != TEXT_UTF8)
        {
          if (self->encoding != NULL)
            {
              const char *canon = dothi_encoding_canonical_name (self->encoding);
              if (canon == NULL)
                {
                  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                               /* Translators: an encoding name the user gave */
                               _("Unknown text encoding “%s” (try UTF-8, CP1258, TCVN3 or VNI)"),
                               self->encoding);
                  return NULL;
                }
              plan->encoding = canon;
            }
          else if (src->file_encoding != NULL && !is_western_code_page (src->file_encoding)
                   && g_strcmp0 (src->file_encoding, DOTHI_ENCODING_UTF8) != 0)
            plan->encoding = src->file_encoding;
          else
            {
              /* No declaration, UTF-8, or a Western code page: TCVN3 and
               * VNI text was typed in fonts that show Latin-1 glyphs, so
               * ArcGIS and MapInfo label such files ANSI 1252. The bytes
               * decide when they are clearly Vietnamese. */
              g_autoptr(GPtrArray) samples = sample_strings (layer, src->mode, 2000);
              double confidence = 0.0;
              const char *guess = NULL;

              if (samples->len > 0)
                guess = dothi_encoding_detect ((const char * const *) samples->pdata,
                                               samples->len, &confidence);
              if (src->file_encoding == NULL)
                {
                  plan->encoding = guess ? guess : DOTHI_ENCODING_UTF8;
                  plan->confidence = confidence;
                  plan->detected = guess != NULL;
                }
              else if (guess != NULL && g_strcmp0 (guess, src->file_encoding) != 0
                       && (g_strcmp0 (guess, DOTHI_ENCODING_UTF8) == 0 || confidence >= 0.5))
                {
                  plan->encoding = guess;
                  plan->confidence = confidence;
                  plan->detected = TRUE;
                }
              else
                plan->encoding = src->file_encoding;
            }
        }

      if (src->vsimem != NULL)
        {
          /* A rewritten copy: the layer is named after the user's file. */
          g_autofree char *base = g_path_get_basename (src->display);
          char *dot = strrchr (base, '.');
          if (dot != NULL && dot != base)
            *dot = '\0';
          plan->source_name = g_strdup (base);
        }
      else if (g_utf8_validate (raw_name, -1, NULL))
        /* Names from file names (Shapefile, CSV, MapInfo) are the file
         * system's UTF-8, whatever the attributes' encoding. */
        plan->source_name = dothi_encoding_nfc (raw_name, -1);
      else
        plan->source_name = decode_text (plan, src->mode == TEXT_LATIN1 ? TEXT_UTF8 : src->mode,
                                         raw_name, FALSE, &local_error);
      if (plan->source_name == NULL)
        plan->source_name = g_strdup (raw_name);
      g_clear_error (&local_error);

      if (!wanted_layer (self, raw_name, plan->source_name))
        {
          g_ptr_array_remove (plans, plan);
          continue;
        }
      n_wanted_found++;

      plan->info = dothi_layer_info_new ();
      if (self->target_name != NULL)
        {
          plan->info->title = g_strdup (self->target_name);
          plan->info->name = unique_table_name (self, taken, plan->info->title);
        }
      else
        {
          /* A GeoPackage's human title ("Thửa đất") names the layer for
           * people; its table name stays the table's. */
          const char *ident = GDALGetMetadataItem ((GDALMajorObjectH) layer, "IDENTIFIER", NULL);

          if (ident != NULL && *ident != '\0' && g_strcmp0 (ident, raw_name) != 0
              && g_utf8_validate (ident, -1, NULL))
            plan->info->title = dothi_encoding_nfc (ident, -1);
          else
            plan->info->title = g_strdup (plan->source_name);
          plan->info->name = unique_table_name (self, taken, plan->source_name);
        }
      plan->info->kind = kind_from_ogr (gtype);
      plan->info->has_z = OGR_GT_HasZ (gtype);
      plan->info->has_m = OGR_GT_HasM (gtype);
      if (gtype != wkbNone && !driver_knows_geometry_types (src->driver, gtype))
        scan_geometry_types (layer, plan->info, cancellable);
      plan->info->source = g_strdup (src->display);
      plan->info->driver = g_strdup (src->driver);
      plan->info->encoding = g_strdup (plan->encoding);
      plan->count_hint = OGR_L_TestCapability (layer, OLCFastFeatureCount)
                         ? OGR_L_GetFeatureCount (layer, FALSE) : -1;

      if (g_strcmp0 (src->driver, "GML") == 0)
        infer_gml_types (layer, types, n_fields, cancellable);
      else
        for (int i = 0; i < n_fields; i++)
          types[i] = field_type_from_ogr (OGR_FD_GetFieldDefn (defn, i));

      for (int i = 0; i < n_fields; i++)
        {
          OGRFieldDefnH fd = OGR_FD_GetFieldDefn (defn, i);
          g_autofree char *name = NULL;
          g_autofree char *folded = NULL;
          gboolean caps;

          name = decode_text (plan, src->mode == TEXT_LATIN1 ? TEXT_UTF8 : src->mode,
                              OGR_Fld_GetNameRef (fd), FALSE, NULL);
          if (name == NULL || *g_strstrip (name) == '\0')
            {
              g_free (name);
              name = g_strdup_printf ("field_%d", i + 1);
            }
          /* fid and geom are Dothi's; rowid, oid and _rowid_ would hide
           * SQLite's row id, which SpatiaLite's spatial index needs. */
          if (g_ascii_strcasecmp (name, "fid") == 0 || g_ascii_strcasecmp (name, "geom") == 0
              || g_ascii_strcasecmp (name, "rowid") == 0 || g_ascii_strcasecmp (name, "oid") == 0
              || g_ascii_strcasecmp (name, "_rowid_") == 0)
            {
              char *renamed = g_strconcat (name, "_1", NULL);
              g_free (name);
              name = renamed;
            }
          folded = g_utf8_casefold (name, -1);
          for (int k = 2; g_hash_table_contains (used, folded); k++)
            {
              char *renamed = g_strdup_printf ("%s_%d", name, k);
              g_free (folded);
              folded = g_utf8_casefold (renamed, -1);
              if (!g_hash_table_contains (used, folded))
                {
                  g_free (name);
                  name = renamed;
                  break;
                }
              g_free (renamed);
            }
          g_hash_table_add (used, g_steal_pointer (&folded));

          caps = self->caps_fields != NULL
                 && g_strv_contains ((const char * const *) self->caps_fields, name);
          dothi_layer_info_add_field (plan->info, name, types[i]);
          g_array_append_val (plan->src_index, i);
          g_array_append_val (plan->caps, caps);
          plan->ogr_types[plan->info->fields->len - 1] = OGR_Fld_GetType (fd);
        }

      if (!plan_crs (self, src, plan, for_preview ? &local_error : error))
        {
          if (!for_preview)
            return NULL;
          g_clear_error (&local_error);
        }
    }

  if (self->layers != NULL && n_wanted_found < g_strv_length (self->layers))
    {
      g_autoptr(GString) names = g_string_new (NULL);
      for (int li = 0; li < n_layers; li++)
        g_string_append_printf (names, "%s“%s”", li ? ", " : "",
                                OGR_L_GetName (GDALDatasetGetLayer (src->ds, li)));
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_NOT_FOUND,
                   /* Translators: file name, then a list of layer names */
                   _("A layer you chose is not in “%s”; it has: %s"), src->display, names->str);
      return NULL;
    }
  if (plans->len == 0)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("“%s” has no layers to import"), src->display);
      return NULL;
    }
  if (self->target_name != NULL && plans->len > 1)
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                   _("A layer name can only be given when importing one layer; choose it with --layer"));
      return NULL;
    }
  return g_steal_pointer (&plans);
}

/* ---- preview ----------------------------------------------------------- */

GPtrArray *
dothi_import_preview_sync (DothiImport *self, guint n_samples, GError **error)
{
  g_auto(Source) src = { 0 };
  g_autoptr(GPtrArray) plans = NULL;
  GPtrArray *previews;
  ErrorSink sink;

  g_return_val_if_fail (DOTHI_IS_IMPORT (self), NULL);

  if (!open_source (self, &src, error))
    return NULL;
  sink_push (&sink);
  plans = make_plans (self, &src, TRUE, NULL, error);
  g_free (sink_pop (&sink));
  if (plans == NULL)
    return NULL;

  previews = g_ptr_array_new_with_free_func ((GDestroyNotify) dothi_import_preview_free);
  for (guint p = 0; p < plans->len; p++)
    {
      LayerPlan *plan = g_ptr_array_index (plans, p);
      DothiImportPreview *pv = g_new0 (DothiImportPreview, 1);
      OGRFeatureH f;
      guint n = 0;

      pv->source_layer = g_strdup (plan->source_name);
      pv->table = g_strdup (plan->info->name);
      pv->kind = plan->info->kind;
      pv->has_z = plan->info->has_z;
      pv->has_m = plan->info->has_m;
      pv->feature_count = plan->count_hint;
      pv->source_srid = plan->source_srid;
      pv->source_crs = g_strdup (plan->source_crs);
      pv->target_srid = plan->info->srid;
      pv->encoding = g_strdup (plan->encoding);
      pv->confidence = plan->confidence;
      pv->encoding_detected = plan->detected;
      pv->fields = g_ptr_array_new_with_free_func ((GDestroyNotify) field_preview_free);
      for (guint i = 0; i < plan->info->fields->len; i++)
        {
          const DothiField *fld = g_ptr_array_index (plan->info->fields, i);
          DothiImportFieldPreview *fp = g_new0 (DothiImportFieldPreview, 1);
          fp->name = g_strdup (fld->name);
          fp->type = fld->type;
          fp->samples = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (pv->fields, fp);
        }
      OGR_L_ResetReading (plan->layer);
      while (n < n_samples && (f = OGR_L_GetNextFeature (plan->layer)) != NULL)
        {
          for (guint i = 0; i < plan->info->fields->len; i++)
            {
              DothiImportFieldPreview *fp = g_ptr_array_index (pv->fields, i);
              int src_i = g_array_index (plan->src_index, int, i);
              gboolean caps = g_array_index (plan->caps, gboolean, i);

              if (!OGR_F_IsFieldSetAndNotNull (f, src_i))
                g_ptr_array_add (fp->samples, NULL);
              else
                {
                  char *v = decode_text (plan, src.mode, OGR_F_GetFieldAsString (f, src_i), caps, NULL);
                  g_ptr_array_add (fp->samples, v ? v : g_strdup ("?"));
                }
            }
          OGR_F_Destroy (f);
          n++;
        }
      g_ptr_array_add (previews, pv);
    }
  return previews;
}

/* ---- the run ----------------------------------------------------------- */

typedef struct {
  DothiProgressFunc func;
  gpointer          data;
  gint64            last_us;
} Progress;

static void
report_progress (Progress *progress, double fraction, const char *stage, gboolean force)
{
  gint64 now;

  if (progress->func == NULL)
    return;
  now = g_get_monotonic_time ();
  if (!force && now - progress->last_us < 100000)
    return;
  progress->last_us = now;
  progress->func (fraction, stage, progress->data);
}

/* Adds the points, lines and polygons of @geom, however deeply nested in
 * collections, to @collection. */
static void
add_simple_parts (OGRGeometryH collection, OGRGeometryH geom)
{
  OGRwkbGeometryType t = wkbFlatten (OGR_G_GetGeometryType (geom));

  if (t == wkbPoint || t == wkbLineString || t == wkbPolygon)
    OGR_G_AddGeometry (collection, geom);
  else if (t == wkbTIN || t == wkbPolyhedralSurface || t == wkbTriangle)
    {
      OGRGeometryH polys = OGR_G_ForceTo (OGR_G_Clone (geom), wkbMultiPolygon, NULL);
      add_simple_parts (collection, polys);
      OGR_G_DestroyGeometry (polys);
    }
  else
    for (int i = 0; i < OGR_G_GetGeometryCount (geom); i++)
      add_simple_parts (collection, OGR_G_GetGeometryRef (geom, i));
}

/* Brings @geom to the layer's kind and dimensions; returns a new geometry
 * (the input is consumed) or NULL when it cannot fit the kind. */
static OGRGeometryH
conform_geometry (OGRGeometryH geom, const DothiLayerInfo *info)
{
  OGRwkbGeometryType flat;

  if (OGR_G_HasCurveGeometry (geom, TRUE))
    {
      OGRGeometryH linear = OGR_G_GetLinearGeometry (geom, 0, NULL);
      OGR_G_DestroyGeometry (geom);
      geom = linear;
      if (geom == NULL)
        return NULL;
    }
  flat = wkbFlatten (OGR_G_GetGeometryType (geom));

  switch (info->kind)
    {
    case DOTHI_GEOMETRY_KIND_MULTIPOINT:
      geom = OGR_G_ForceToMultiPoint (geom);
      break;
    case DOTHI_GEOMETRY_KIND_MULTILINESTRING:
      geom = OGR_G_ForceToMultiLineString (geom);
      break;
    case DOTHI_GEOMETRY_KIND_MULTIPOLYGON:
      if (flat == wkbTIN || flat == wkbPolyhedralSurface || flat == wkbTriangle)
        geom = OGR_G_ForceTo (geom, wkbMultiPolygon, NULL);
      else
        geom = OGR_G_ForceToMultiPolygon (geom);
      break;
    case DOTHI_GEOMETRY_KIND_GEOMETRY:
      if (flat == wkbPoint)
        geom = OGR_G_ForceToMultiPoint (geom);
      else if (flat == wkbLineString)
        geom = OGR_G_ForceToMultiLineString (geom);
      else if (flat == wkbPolygon)
        geom = OGR_G_ForceToMultiPolygon (geom);
      else if (flat == wkbTIN || flat == wkbPolyhedralSurface || flat == wkbTriangle)
        geom = OGR_G_ForceTo (geom, wkbMultiPolygon, NULL);
      else if (flat == wkbGeometryCollection)
        {
          /* SpatiaLite collections hold simple parts only. */
          OGRGeometryH flatgc = OGR_G_CreateGeometry (wkbGeometryCollection);
          add_simple_parts (flatgc, geom);
          OGR_G_DestroyGeometry (geom);
          geom = flatgc;
        }
      break;
    case DOTHI_GEOMETRY_KIND_NONE:
    default:
      OGR_G_DestroyGeometry (geom);
      return NULL;
    }
  if (geom == NULL)
    return NULL;
  flat = wkbFlatten (OGR_G_GetGeometryType (geom));
  if ((info->kind == DOTHI_GEOMETRY_KIND_MULTIPOINT && flat != wkbMultiPoint)
      || (info->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING && flat != wkbMultiLineString)
      || (info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON && flat != wkbMultiPolygon))
    {
      OGR_G_DestroyGeometry (geom);
      return NULL;
    }
  OGR_G_Set3D (geom, info->has_z);
  OGR_G_SetMeasured (geom, info->has_m);
  return geom;
}

/* Keeps the parts of a made-valid geometry that fit the layer's kind. */
static OGRGeometryH
repair_geometry (OGRGeometryH geom, const DothiLayerInfo *info)
{
  OGRGeometryH valid = OGR_G_MakeValid (geom);
  OGRGeometryH out;
  OGRwkbGeometryType want;

  if (valid == NULL)
    return NULL;
  if (info->kind == DOTHI_GEOMETRY_KIND_GEOMETRY)
    return valid;
  want = info->kind == DOTHI_GEOMETRY_KIND_MULTIPOLYGON ? wkbPolygon
         : info->kind == DOTHI_GEOMETRY_KIND_MULTILINESTRING ? wkbLineString : wkbPoint;
  if (wkbFlatten (OGR_G_GetGeometryType (valid)) != wkbGeometryCollection)
    return valid;
  out = OGR_G_CreateGeometry (wkbGeometryCollection);
  for (int i = 0; i < OGR_G_GetGeometryCount (valid); i++)
    {
      OGRGeometryH part = OGR_G_GetGeometryRef (valid, i);
      OGRwkbGeometryType pt = wkbFlatten (OGR_G_GetGeometryType (part));
      if (pt == want || pt == OGR_GT_GetCollection (want))
        OGR_G_AddGeometry (out, part);
    }
  OGR_G_DestroyGeometry (valid);
  return out;
}

/* ---- validity --------------------------------------------------------- */

/* The turn a -> b -> c: 1 left, -1 right, 0 collinear or too close to
 * tell in doubles (then GEOS's robust predicates decide). */
static int
orientation (double ax, double ay, double bx, double by, double cx, double cy)
{
  double l = (bx - ax) * (cy - ay);
  double r = (by - ay) * (cx - ax);
  double d = l - r;

  if (fabs (d) <= 1e-12 * (fabs (l) + fabs (r)))
    return 0;
  return (d > 0) - (d < 0);
}

/* TRUE when a single-ring polygon is certainly valid: closed, at least
 * three distinct corners, and no two non-adjacent edges meeting, touching
 * or collinear. Anything doubtful is left to GEOS. Parcels are almost all
 * like this, and GEOS's full check costs a tenth of a large import. */
static gboolean
ring_certainly_valid (OGRGeometryH ring)
{
  enum { MAX_POINTS = 64 };
  double x[MAX_POINTS + 1], y[MAX_POINTS + 1];
  int n_in = OGR_G_GetPointCount (ring), n = 0;

  if (n_in < 4 || n_in > MAX_POINTS)
    return FALSE;
  for (int i = 0; i < n_in; i++)
    {
      double px = OGR_G_GetX (ring, i), py = OGR_G_GetY (ring, i);
      if (!isfinite (px) || !isfinite (py))
        return FALSE;
      if (n > 0 && px == x[n - 1] && py == y[n - 1])
        continue;  /* repeated points are allowed */
      x[n] = px;
      y[n] = py;
      n++;
    }
  /* Closed, with at least three distinct corners. */
  if (n < 4 || x[0] != x[n - 1] || y[0] != y[n - 1])
    return FALSE;
  n--;  /* n edges, edge i from point i to point i + 1 (mod n) */
  for (int i = 0; i < n; i++)
    {
      int i1 = i + 1;
      int i2 = (i + 2) % n;

      /* A turn of 0 or 180 degrees at a corner: GEOS decides. */
      if (orientation (x[i], y[i], x[i1], y[i1], x[i2], y[i2]) == 0)
        return FALSE;
      for (int j = i + 2; j < n; j++)
        {
          int j1 = (j + 1) % n;
          int o1, o2, o3, o4;

          if (j1 == i)
            continue;  /* adjacent through the closing point */
          o1 = orientation (x[i], y[i], x[i1], y[i1], x[j], y[j]);
          o2 = orientation (x[i], y[i], x[i1], y[i1], x[j1], y[j1]);
          o3 = orientation (x[j], y[j], x[j1], y[j1], x[i], y[i]);
          o4 = orientation (x[j], y[j], x[j1], y[j1], x[i1], y[i1]);
          if (o1 == 0 || o2 == 0 || o3 == 0 || o4 == 0)
            return FALSE;
          if (o1 != o2 && o3 != o4)
            return FALSE;  /* the edges cross */
        }
    }
  return TRUE;
}

static gboolean
geometry_is_valid (OGRGeometryH geom)
{
  OGRwkbGeometryType flat = wkbFlatten (OGR_G_GetGeometryType (geom));

  if (flat == wkbMultiPolygon && OGR_G_GetGeometryCount (geom) == 1)
    {
      OGRGeometryH poly = OGR_G_GetGeometryRef (geom, 0);
      if (OGR_G_GetGeometryCount (poly) == 1
          && ring_certainly_valid (OGR_G_GetGeometryRef (poly, 0)))
        return TRUE;
    }
  return OGR_G_IsValid (geom);
}

typedef struct {
  DothiImport   *self;
  Source        *src;
  GPtrArray     *plans;
  GHashTable    *by_layer;   /* OGRLayerH -> LayerPlan* */
  DothiStore    *store;
  DothiValue    *values;
  char         **texts;
  guint          max_fields;
  GByteArray    *wkb;
  GCancellable  *cancellable;
  Progress      *progress;
  gint64         done;
  gint64         total;

  /* The reader thread converts features into batches; the calling thread
   * writes them, so GDAL and SQLite each have a core. */
  GAsyncQueue   *full;
  GAsyncQueue   *empty;
  struct _Batch *batch;      /* being filled by the reader */
  ErrorSink      reader_sink;
  gint           abort;      /* atomic: the writer stopped */
} RunState;

#define BATCH_ROWS 1024
#define N_BATCHES  4

typedef struct _Batch {
  guint          n;
  guint          max_fields;
  LayerPlan    **plans;
  gint64        *fids;       /* the source's feature ids, for messages */
  DothiValue    *values;     /* n rows of max_fields */
  gssize        *wkb_len;    /* -1: no geometry */
  gsize         *wkb_off;
  GByteArray    *wkb;
  GStringChunk  *strings;
  GError        *error;      /* why reading stopped, on the last batch */
  gboolean       last;
} Batch;

static Batch *
batch_new (guint max_fields)
{
  Batch *b = g_new0 (Batch, 1);

  b->max_fields = MAX (max_fields, 1);
  b->plans = g_new0 (LayerPlan *, BATCH_ROWS);
  b->fids = g_new0 (gint64, BATCH_ROWS);
  b->values = g_new0 (DothiValue, (gsize) BATCH_ROWS * b->max_fields);
  b->wkb_len = g_new0 (gssize, BATCH_ROWS);
  b->wkb_off = g_new0 (gsize, BATCH_ROWS);
  b->wkb = g_byte_array_sized_new (BATCH_ROWS * 256);
  b->strings = g_string_chunk_new (64 * 1024);
  return b;
}

static void
batch_reset (Batch *b)
{
  b->n = 0;
  g_byte_array_set_size (b->wkb, 0);
  g_string_chunk_clear (b->strings);
  g_clear_error (&b->error);
  b->last = FALSE;
}

static void
batch_free (Batch *b)
{
  g_free (b->plans);
  g_free (b->fids);
  g_free (b->values);
  g_free (b->wkb_len);
  g_free (b->wkb_off);
  g_byte_array_unref (b->wkb);
  g_string_chunk_free (b->strings);
  g_clear_error (&b->error);
  g_free (b);
}

/* Copies the converted feature in @st into the reader's batch, handing
 * the batch to the writer when it is full. */
static void
emit_row (RunState *st, LayerPlan *plan, gint64 fid, gboolean has_geom)
{
  Batch *b = st->batch;
  DothiValue *row = &b->values[(gsize) b->n * b->max_fields];
  guint nf = plan->info->fields->len;

  for (guint i = 0; i < nf; i++)
    {
      const DothiField *fld = g_ptr_array_index (plan->info->fields, i);

      row[i] = st->values[i];
      if (row[i].is_null)
        continue;
      if (fld->type == DOTHI_FIELD_BLOB)
        row[i].v.b.data = (const guint8 *) g_string_chunk_insert_len (b->strings,
                                                                      (const char *) row[i].v.b.data,
                                                                      (gssize) row[i].v.b.len);
      else if (fld->type == DOTHI_FIELD_TEXT || fld->type == DOTHI_FIELD_DATE
               || fld->type == DOTHI_FIELD_DATETIME)
        row[i].v.s = g_string_chunk_insert (b->strings, row[i].v.s);
    }
  b->plans[b->n] = plan;
  b->fids[b->n] = fid;
  if (has_geom)
    {
      b->wkb_off[b->n] = b->wkb->len;
      b->wkb_len[b->n] = (gssize) st->wkb->len;
      g_byte_array_append (b->wkb, st->wkb->data, st->wkb->len);
    }
  else
    b->wkb_len[b->n] = -1;
  b->n++;

  if (b->n == BATCH_ROWS)
    {
      g_async_queue_push (st->full, b);
      st->batch = g_async_queue_pop (st->empty);
      batch_reset (st->batch);
    }
}

static gboolean
import_feature (RunState *st, LayerPlan *plan, OGRFeatureH f, GError **error)
{
  const DothiLayerInfo *info = plan->info;
  OGRGeometryH geom = NULL;
  guint nf = info->fields->len;
  gboolean ok = FALSE;

  for (guint i = 0; i < nf; i++)
    {
      const DothiField *fld = g_ptr_array_index (info->fields, i);
      int src_i = g_array_index (plan->src_index, int, i);
      DothiValue *v = &st->values[i];

      g_clear_pointer (&st->texts[i], g_free);
      v->is_null = !OGR_F_IsFieldSetAndNotNull (f, src_i);
      if (v->is_null)
        continue;
      switch (fld->type)
        {
        case DOTHI_FIELD_INTEGER:
        case DOTHI_FIELD_BOOLEAN:
          v->v.i = OGR_F_GetFieldAsInteger64 (f, src_i);
          break;
        case DOTHI_FIELD_REAL:
          if (plan->ogr_types[i] == OFTString)
            v->v.d = g_ascii_strtod (OGR_F_GetFieldAsString (f, src_i), NULL);
          else
            v->v.d = OGR_F_GetFieldAsDouble (f, src_i);
          break;
        case DOTHI_FIELD_BLOB:
          {
            int len = 0;
            v->v.b.data = OGR_F_GetFieldAsBinary (f, src_i, &len);
            v->v.b.len = (gsize) len;
          }
          break;
        case DOTHI_FIELD_DATE:
        case DOTHI_FIELD_DATETIME:
          {
            int y, mo, d, h, mi, tz;
            float s;
            if (OGR_F_GetFieldAsDateTimeEx (f, src_i, &y, &mo, &d, &h, &mi, &s, &tz))
              {
                if (fld->type == DOTHI_FIELD_DATE)
                  st->texts[i] = g_strdup_printf ("%04d-%02d-%02d", y, mo, d);
                else
                  {
                    g_autofree char *zone = NULL;
                    if (tz == 100)
                      zone = g_strdup ("Z");
                    else if (tz > 1)
                      {
                        int off = (tz - 100) * 15;
                        zone = g_strdup_printf ("%c%02d:%02d", off < 0 ? '-' : '+', ABS (off) / 60, ABS (off) % 60);
                      }
                    else
                      zone = g_strdup ("");
                    st->texts[i] = g_strdup_printf ("%04d-%02d-%02dT%02d:%02d:%06.3f%s", y, mo, d, h, mi, (double) s, zone);
                  }
                v->v.s = st->texts[i];
              }
            else
              v->is_null = TRUE;
          }
          break;
        case DOTHI_FIELD_TEXT:
        default:
          {
            g_autoptr(GError) local_error = NULL;
            st->texts[i] = decode_text (plan, st->src->mode, OGR_F_GetFieldAsString (f, src_i),
                                        g_array_index (plan->caps, gboolean, i), &local_error);
            if (st->texts[i] == NULL)
              {
                g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                             /* Translators: field, feature id, layer, file, then the reason */
                             _("Field “%s” of feature %lld in layer “%s” of “%s”: %s"),
                             fld->name, (long long) OGR_F_GetFID (f), plan->source_name, st->src->display,
                             local_error->message);
                return FALSE;
              }
            v->v.s = st->texts[i];
          }
          break;
        }
    }

  if (info->kind != DOTHI_GEOMETRY_KIND_NONE)
    geom = OGR_F_StealGeometry (f);
  if (geom != NULL && OGR_G_IsEmpty (geom))
    g_clear_pointer (&geom, OGR_G_DestroyGeometry);
  if (geom != NULL)
    {
      OGRwkbGeometryType flat = wkbFlatten (OGR_G_GetGeometryType (geom));
      gboolean check = flat == wkbPolygon || flat == wkbMultiPolygon || flat == wkbCurvePolygon
                       || flat == wkbMultiSurface || flat == wkbLineString || flat == wkbMultiLineString;

      geom = conform_geometry (geom, info);
      if (geom == NULL)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: feature id, layer, file, geometry kind */
                       _("Feature %lld in layer “%s” of “%s” has a geometry that is not %s"),
                       (long long) OGR_F_GetFID (f), plan->source_name, st->src->display,
                       dothi_geometry_kind_to_label (info->kind));
          return FALSE;
        }
      if (plan->ct != NULL && OGR_G_Transform (geom, plan->ct) != OGRERR_NONE)
        {
          g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                       /* Translators: feature id, layer, file */
                       _("Feature %lld in layer “%s” of “%s” has coordinates outside its coordinate reference system"),
                       (long long) OGR_F_GetFID (f), plan->source_name, st->src->display);
          goto out;
        }
      if (check && info->kind != DOTHI_GEOMETRY_KIND_MULTIPOINT && !geometry_is_valid (geom))
        {
          DothiImportReport *r = plan->report;
          gint64 fid = OGR_F_GetFID (f);

          r->n_invalid++;
          if (r->invalid_fids->len < 100)
            g_array_append_val (r->invalid_fids, fid);
          if (st->self->make_valid)
            {
              OGRGeometryH fixed = repair_geometry (geom, info);

              if (fixed != NULL)
                fixed = conform_geometry (fixed, info);
              if (fixed == NULL || OGR_G_IsEmpty (fixed))
                {
                  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                               /* Translators: feature id, layer, file */
                               _("Feature %lld in layer “%s” of “%s” is invalid and cannot be repaired"),
                               (long long) fid, plan->source_name, st->src->display);
                  if (fixed != NULL)
                    OGR_G_DestroyGeometry (fixed);
                  goto out;
                }
              OGR_G_DestroyGeometry (geom);
              geom = fixed;
            }
        }
      if (geom != NULL)
        {
          g_byte_array_set_size (st->wkb, (guint) OGR_G_WkbSize (geom));
          if (OGR_G_ExportToIsoWkb (geom, wkbNDR, st->wkb->data) != OGRERR_NONE)
            {
              g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                           _("Feature %lld in layer “%s” of “%s” has a geometry that is not %s"),
                           (long long) OGR_F_GetFID (f), plan->source_name, st->src->display,
                           dothi_geometry_kind_to_label (info->kind));
              goto out;
            }
        }
    }

  emit_row (st, plan, OGR_F_GetFID (f), geom != NULL);
  ok = TRUE;

out:
  if (geom != NULL)
    OGR_G_DestroyGeometry (geom);
  return ok;
}

/* Reader thread: FALSE when reading must stop (an error, or the writer
 * gave up). */
static gboolean
run_feature (RunState *st, LayerPlan *plan, OGRFeatureH f, GError **error)
{
  if (g_atomic_int_get (&st->abort))
    return FALSE;
  return import_feature (st, plan, f, error);
}

/* A GDAL failure while reading (a node at lat=200 in an OSM file) fails the
 * import: it is never a silently shortened layer. */
static gboolean
read_failure (RunState *st, ErrorSink *sink, LayerPlan *plan, gint64 last_fid, GError **error)
{
  if (sink->failures->len == 0)
    return FALSE;
  if (plan != NULL)
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: layer, file, feature id, then GDAL's message */
                 _("Layer “%s” of “%s” is damaged after feature %lld: %s"),
                 plan->source_name, st->src->display, (long long) last_fid, sink->failures->str);
  else
    g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_INVALID_DATA,
                 /* Translators: file, then GDAL's message */
                 _("“%s” is damaged: %s"), st->src->display, sink->failures->str);
  g_string_truncate (sink->failures, 0);
  return TRUE;
}

/* Reader thread: every selected feature into batches; the last batch says
 * why reading stopped. Owns the GDAL dataset until it returns. */
static gpointer
read_all (gpointer data)
{
  RunState *st = data;
  ErrorSink *sink = &st->reader_sink;
  GError *error = NULL;
  gboolean ok = TRUE;

  /* GDAL's error handlers are per thread. */
  sink_push (sink);
  st->batch = g_async_queue_pop (st->empty);
  batch_reset (st->batch);

  if (GDALDatasetTestCapability (st->src->ds, ODsCRandomLayerRead))
    {
      /* OSM and similar drivers give features of all layers interleaved. */
      OGRFeatureH f;
      OGRLayerH from = NULL;

      LayerPlan *last_plan = NULL;
      gint64 last_fid = -1;

      GDALDatasetResetReading (st->src->ds);
      while (ok && (f = GDALDatasetGetNextFeature (st->src->ds, &from, NULL, NULL, NULL)) != NULL)
        {
          LayerPlan *plan = g_hash_table_lookup (st->by_layer, from);

          if (plan != NULL)
            {
              ok = run_feature (st, plan, f, &error);
              last_plan = plan;
              last_fid = OGR_F_GetFID (f);
            }
          else if (g_atomic_int_get (&st->abort))
            ok = FALSE;
          if (ok && read_failure (st, sink, last_plan, last_fid, &error))
            ok = FALSE;
          OGR_F_Destroy (f);
        }
      if (ok && read_failure (st, sink, last_plan, last_fid, &error))
        ok = FALSE;
    }
  else
    for (guint p = 0; ok && p < st->plans->len; p++)
      {
        LayerPlan *plan = g_ptr_array_index (st->plans, p);
        OGRFeatureH f;
        gint64 last_fid = 0;

        OGR_L_ResetReading (plan->layer);
        while (ok && (f = OGR_L_GetNextFeature (plan->layer)) != NULL)
          {
            ok = run_feature (st, plan, f, &error);
            last_fid = OGR_F_GetFID (f);
            OGR_F_Destroy (f);
          }
        if (ok && read_failure (st, sink, plan, last_fid, &error))
          ok = FALSE;
      }
  g_free (sink_pop (sink));

  st->batch->last = TRUE;
  st->batch->error = error;
  g_async_queue_push (st->full, g_steal_pointer (&st->batch));
  return NULL;
}

static gboolean
import_all (DothiImport *self, Source *src, GPtrArray *plans, GCancellable *cancellable,
            Progress *progress, GError **error)
{
  RunState st = { 0 };
  GThread *reader;
  GPtrArray *batches = g_ptr_array_new_with_free_func ((GDestroyNotify) batch_free);
  gboolean ok = TRUE;

  st.self = self;
  st.src = src;
  st.plans = plans;
  st.store = dothi_project_get_store (self->project);
  st.cancellable = cancellable;
  st.progress = progress;
  st.wkb = g_byte_array_sized_new (4096);
  st.by_layer = g_hash_table_new (NULL, NULL);
  for (guint p = 0; p < plans->len; p++)
    {
      LayerPlan *plan = g_ptr_array_index (plans, p);
      st.max_fields = MAX (st.max_fields, plan->info->fields->len);
      if (plan->count_hint > 0)
        st.total += plan->count_hint;
      g_hash_table_insert (st.by_layer, plan->layer, plan);
    }
  st.values = g_new0 (DothiValue, MAX (st.max_fields, 1));
  st.texts = g_new0 (char *, MAX (st.max_fields, 1));
  st.full = g_async_queue_new ();
  st.empty = g_async_queue_new ();
  for (guint i = 0; i < N_BATCHES; i++)
    {
      Batch *b = batch_new (st.max_fields);
      g_ptr_array_add (batches, b);
      g_async_queue_push (st.empty, b);
    }

  reader = g_thread_new ("dothi-import-read", read_all, &st);

  /* The writer: this thread, the one that owns the project connection. */
  for (;;)
    {
      Batch *b = g_async_queue_pop (st.full);
      gboolean last = b->last;

      for (guint r = 0; ok && r < b->n; r++)
        {
          LayerPlan *plan = b->plans[r];
          gssize len = b->wkb_len[r];

          g_autoptr(GError) local_error = NULL;

          ok = dothi_store_insert_feature (st.store, plan->info->name,
                                           &b->values[(gsize) r * b->max_fields],
                                           len < 0 ? NULL : b->wkb->data + b->wkb_off[r],
                                           len < 0 ? 0 : (gsize) len, &local_error);
          if (ok)
            plan->report->n_features++;
          else
            g_set_error (error, local_error->domain, local_error->code,
                         /* Translators: feature id, layer, file, then the reason */
                         _("Feature %lld in layer “%s” of “%s” could not be stored: %s"),
                         (long long) b->fids[r], plan->source_name, src->display,
                         local_error->message);
        }
      st.done += b->n;
      if (ok && b->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&b->error));
          ok = FALSE;
        }
      if (ok && g_cancellable_set_error_if_cancelled (cancellable, error))
        ok = FALSE;
      if (!ok)
        g_atomic_int_set (&st.abort, 1);
      else
        report_progress (progress, st.total > 0 ? MIN (0.95, 0.9 * st.done / (double) st.total) : -1.0,
                         _("Reading features"), FALSE);
      if (last)
        break;
      batch_reset (b);
      g_async_queue_push (st.empty, b);
    }
  g_thread_join (reader);

  for (guint i = 0; i < st.max_fields; i++)
    g_free (st.texts[i]);
  g_free (st.texts);
  g_free (st.values);
  g_byte_array_unref (st.wkb);
  g_hash_table_unref (st.by_layer);
  g_async_queue_unref (st.full);
  g_async_queue_unref (st.empty);
  g_ptr_array_unref (batches);
  return ok;
}

gboolean
dothi_import_run_sync (DothiImport *self, GCancellable *cancellable,
                       DothiProgressFunc progress_func, gpointer progress_data,
                       GError **error)
{
  g_auto(Source) src = { 0 };
  g_autoptr(GPtrArray) plans = NULL;
  g_autofree char *action = NULL;
  g_autofree char *base = NULL;
  DothiStore *store;
  Progress progress = { progress_func, progress_data, 0 };
  ErrorSink sink;
  gboolean ok = FALSE;
  gint64 t0;

  g_return_val_if_fail (DOTHI_IS_IMPORT (self), FALSE);

  g_ptr_array_set_size (self->reports, 0);
  report_progress (&progress, 0.0, _("Opening the file"), TRUE);
  if (!open_source (self, &src, error))
    return FALSE;
  /* Every GDAL message of the run is collected, never printed. */
  sink_push (&sink);
  plans = make_plans (self, &src, FALSE, cancellable, error);
  if (plans == NULL)
    goto out;
  /* The passes over vague layers stop early when cancelled. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    goto out;

  store = dothi_project_get_store (self->project);
  base = g_path_get_basename (self->source);
  /* Translators: the action's name in the history; a file name */
  action = g_strdup_printf (_("Import “%s”"), base);
  if (!dothi_store_begin (store, action, error))
    goto out;

  for (guint p = 0; p < plans->len; p++)
    {
      LayerPlan *plan = g_ptr_array_index (plans, p);

      plan->info->operation = g_strdup (plan->operation);
      plan->report = g_new0 (DothiImportReport, 1);
      plan->report->source_layer = g_strdup (plan->source_name);
      plan->report->table = g_strdup (plan->info->name);
      plan->report->title = g_strdup (plan->info->title);
      plan->report->invalid_fids = g_array_new (FALSE, FALSE, sizeof (gint64));
      plan->report->srid = plan->info->srid;
      plan->report->operation = g_strdup (plan->operation);
      plan->report->encoding = g_strdup (plan->encoding);
      if (!dothi_store_create_layer (store, plan->info, error))
        goto fail;
    }

  t0 = g_get_monotonic_time ();
  if (!import_all (self, &src, plans, cancellable, &progress, error))
    goto fail;
  g_debug ("read and wrote features in %.2f s", (g_get_monotonic_time () - t0) / 1e6);

  for (guint p = 0; p < plans->len; p++)
    {
      LayerPlan *plan = g_ptr_array_index (plans, p);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto fail;
      report_progress (&progress, 0.9 + 0.1 * p / plans->len, _("Building the spatial index"), TRUE);
      t0 = g_get_monotonic_time ();
      if (!dothi_store_finish_layer (store, plan->info->name, error))
        goto fail;
      /* The field the default style classifies by (land use, zoning,
       * a status) gets an index: the legend then knows every class of a
       * million rows at once, and queries on it (muc_dich = 'ODT') seek. */
      if (DOTHI_IS_SPATIALITE_STORE (store))
        {
          g_autoptr(DothiStyle) style = dothi_store_sample_default_style (store, plan->info);

          if (style->kind == DOTHI_STYLE_CATEGORISED && style->field != NULL
              && !dothi_spatialite_store_index_field (DOTHI_SPATIALITE_STORE (store), plan->info->name,
                                                      style->field, error))
            goto fail;
        }
      g_debug ("finished layer %s in %.2f s", plan->info->name, (g_get_monotonic_time () - t0) / 1e6);
    }
  t0 = g_get_monotonic_time ();
  if (!dothi_store_commit (store, error))
    goto out;
  g_debug ("committed in %.2f s", (g_get_monotonic_time () - t0) / 1e6);

  for (guint p = 0; p < plans->len; p++)
    {
      LayerPlan *plan = g_ptr_array_index (plans, p);
      g_ptr_array_add (self->reports, g_steal_pointer (&plan->report));
    }
  report_progress (&progress, 1.0, _("Done"), TRUE);
  ok = TRUE;
  goto out;

fail:
  dothi_store_rollback (store);
out:
  g_free (sink_pop (&sink));
  return ok;
}

/* ---- async ------------------------------------------------------------- */

typedef struct {
  DothiProgressFunc func;
  gpointer          data;
  GMainContext     *context;
} AsyncProgress;

static void
forward_progress (double fraction, const char *stage, gpointer data)
{
  AsyncProgress *ap = data;

  dothi_progress_post (ap->context, ap->func, ap->data, fraction, stage);
}

static void
async_progress_free (AsyncProgress *ap)
{
  g_main_context_unref (ap->context);
  g_free (ap);
}

static void
run_in_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  DothiImport *self = source_object;
  AsyncProgress *ap = task_data;
  g_autoptr(DothiProject) own = NULL;
  g_autoptr(DothiImport) job = NULL;
  GError *error = NULL;

  /* The worker has its own connection to the project (DESIGN.md §7). */
  own = dothi_project_open (dothi_project_get_path (self->project), DOTHI_PROJECT_OPEN_DEFAULT, &error);
  if (own == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job = dothi_import_new (own, self->source);
  job->layers = g_strdupv (self->layers);
  job->encoding = g_strdup (self->encoding);
  job->caps_fields = g_strdupv (self->caps_fields);
  job->source_crs = g_strdup (self->source_crs);
  job->target_name = g_strdup (self->target_name);
  job->make_valid = self->make_valid;
  if (!dothi_import_run_sync (job, cancellable, ap->func ? forward_progress : NULL, ap, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_ptr_array_ref (job->reports), (GDestroyNotify) g_ptr_array_unref);
}

void
dothi_import_run_async (DothiImport *self, GCancellable *cancellable,
                        DothiProgressFunc progress, gpointer progress_data,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncProgress *ap;

  g_return_if_fail (DOTHI_IS_IMPORT (self));

  ap = g_new0 (AsyncProgress, 1);
  ap->func = progress;
  ap->data = progress_data;
  ap->context = g_main_context_ref_thread_default ();
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, dothi_import_run_async);
  g_task_set_task_data (task, ap, (GDestroyNotify) async_progress_free);
  g_task_run_in_thread (task, run_in_thread);
}

gboolean
dothi_import_run_finish (DothiImport *self, GAsyncResult *result, GError **error)
{
  GPtrArray *reports;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  reports = g_task_propagate_pointer (G_TASK (result), error);
  if (reports == NULL)
    return FALSE;
  g_ptr_array_set_size (self->reports, 0);
  g_ptr_array_extend_and_steal (self->reports, reports);
  return TRUE;
}

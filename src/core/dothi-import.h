/* dothi-import.h: reads the layers of a GIS file (any GDAL vector format,
 * or an EPANET model) into a project, decoded to NFC UTF-8 and in the
 * project's VN-2000 zone, as one action. */
#pragma once

#include <gio/gio.h>
#include "dothi-project.h"
#include "dothi-types.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_IMPORT (dothi_import_get_type ())
G_DECLARE_FINAL_TYPE (DothiImport, dothi_import, DOTHI, IMPORT, GObject)

/* What a preview shows of one field: its decoded name, type and a few
 * decoded sample values (NULL shown as NULL). */
typedef struct {
  char           *name;
  DothiFieldType  type;
  GPtrArray      *samples;    /* char*, decoded; NULL entries for NULL values */
} DothiImportFieldPreview;

typedef struct {
  char              *source_layer;  /* the layer's name in the file, decoded */
  char              *table;         /* table name it would get */
  DothiGeometryKind  kind;
  gboolean           has_z;
  gboolean           has_m;
  gint64             feature_count; /* -1 when the driver cannot count cheaply */
  int                source_srid;   /* 0: none or not an EPSG CRS */
  char              *source_crs;    /* human name, or NULL */
  int                target_srid;
  char              *encoding;      /* used or detected; NULL when GDAL decodes */
  double             confidence;    /* of a detected encoding, 0..1 */
  gboolean           encoding_detected;
  GPtrArray         *fields;        /* DothiImportFieldPreview* */
} DothiImportPreview;

/* What an import did to one layer. */
typedef struct {
  char   *source_layer;
  char   *table;
  char   *title;
  gint64  n_features;
  gint64  n_invalid;        /* invalid geometries found (repaired with make-valid) */
  GArray *invalid_fids;     /* gint64 source fids, at most 100 */
  int     srid;
  char   *operation;        /* PROJ operation used, or NULL when kept */
  char   *encoding;
} DothiImportReport;

void dothi_import_preview_free (DothiImportPreview *preview);
void dothi_import_report_free  (DothiImportReport  *report);

DothiImport *dothi_import_new (DothiProject *project, const char *source);

/* Source layers to import (names as the file has them, or decoded); NULL
 * or empty for all. */
void dothi_import_set_layers      (DothiImport *self, const char * const *layers);
/* "auto" / NULL to honour .cpg, the DBF language id, or detection. */
void dothi_import_set_encoding    (DothiImport *self, const char *encoding);
/* Fields (by decoded name, any layer) typed with TCVN3 capital fonts. */
void dothi_import_set_caps_fields (DothiImport *self, const char * const *fields);
/* The CRS of a source that has none ("EPSG:3547"); overrides the file's. */
void dothi_import_set_source_crs  (DothiImport *self, const char *crs);
void dothi_import_set_make_valid  (DothiImport *self, gboolean make_valid);
/* Table name and title for a single-layer import. */
void dothi_import_set_target_name (DothiImport *self, const char *title);

/* Opens the source and returns a DothiImportPreview per selected layer with
 * up to @n_samples decoded values per field. Writes nothing. */
GPtrArray *dothi_import_preview_sync (DothiImport  *self,
                                      guint         n_samples,
                                      GError      **error);

/* Imports in one transaction: on error or cancel the project is left
 * exactly as it was. */
gboolean   dothi_import_run_sync     (DothiImport        *self,
                                      GCancellable       *cancellable,
                                      DothiProgressFunc   progress,
                                      gpointer            progress_data,
                                      GError            **error);
void       dothi_import_run_async    (DothiImport        *self,
                                      GCancellable       *cancellable,
                                      DothiProgressFunc   progress,
                                      gpointer            progress_data,
                                      GAsyncReadyCallback callback,
                                      gpointer            user_data);
gboolean   dothi_import_run_finish   (DothiImport        *self,
                                      GAsyncResult       *result,
                                      GError            **error);

/* DothiImportReport* per imported layer, after a successful run. */
GPtrArray *dothi_import_get_reports  (DothiImport *self);

G_END_DECLS

/* dothi-store.h: the storage interface the rest of the core talks to.
 * DothiSpatialiteStore is the embedded implementation; a PostGIS one serves
 * the same calls over libpq. A store is used from one thread only: a worker
 * opens its own. */
#pragma once

#include <gio/gio.h>
#include "dothi-layer-info.h"
#include "dothi-style.h"

G_BEGIN_DECLS

#define DOTHI_TYPE_STORE (dothi_store_get_type ())
G_DECLARE_INTERFACE (DothiStore, dothi_store, DOTHI, STORE, GObject)

/* One attribute value, in the order of the layer's fields. Text is UTF-8
 * NFC; the pointers are borrowed for the duration of the call. */
typedef struct {
  gboolean is_null;
  union {
    gint64      i;
    double      d;
    const char *s;
    struct {
      const guint8 *data;
      gsize         len;
    } b;
  } v;
} DothiValue;

/* Called for each feature read; @values follow the layer's fields, @wkb is
 * ISO WKB in the layer CRS (NULL for no geometry). Return FALSE and set
 * @error to stop. */
typedef gboolean (*DothiFeatureFunc) (gint64              fid,
                                      const DothiValue   *values,
                                      const guint8       *wkb,
                                      gsize               wkb_len,
                                      gpointer            user_data,
                                      GError            **error);

struct _DothiStoreInterface
{
  GTypeInterface parent_iface;

  gboolean        (*begin)           (DothiStore *self, const char *action, GError **error);
  gboolean        (*commit)          (DothiStore *self, GError **error);
  void            (*rollback)        (DothiStore *self);
  GPtrArray      *(*list_layers)     (DothiStore *self, GError **error);
  DothiLayerInfo *(*get_layer)       (DothiStore *self, const char *name, GError **error);
  gboolean        (*has_table)       (DothiStore *self, const char *name);
  gboolean        (*create_layer)    (DothiStore *self, const DothiLayerInfo *info, GError **error);
  gboolean        (*insert_feature)  (DothiStore *self, const char *layer, const DothiValue *values,
                                      const guint8 *wkb, gsize wkb_len, GError **error);
  gboolean        (*finish_layer)    (DothiStore *self, const char *layer, GError **error);
  gboolean        (*read_features)   (DothiStore *self, const char *layer, const double *bbox,
                                      DothiFeatureFunc func, gpointer user_data,
                                      GCancellable *cancellable, GError **error);
  char           *(*layer_checksum)  (DothiStore *self, const char *layer, GError **error);
  gboolean        (*update_layer)    (DothiStore *self, const DothiLayerInfo *info, GError **error);
  GPtrArray      *(*distinct_values) (DothiStore *self, const char *layer, const char *field,
                                      guint limit, guint sample, GError **error);
};

/* Starts one user action: a write transaction whose audit rows name
 * @action (translated text) and the current user. */
gboolean        dothi_store_begin          (DothiStore *self, const char *action, GError **error);
gboolean        dothi_store_commit         (DothiStore *self, GError **error);
/* Rolls back the open action, if any; the project is as before begin(). */
void            dothi_store_rollback       (DothiStore *self);
GPtrArray      *dothi_store_list_layers    (DothiStore *self, GError **error);
DothiLayerInfo *dothi_store_get_layer      (DothiStore *self, const char *name, GError **error);
gboolean        dothi_store_has_table      (DothiStore *self, const char *name);
/* Inside an action: creates the table of @info (name, fields, kind, srid)
 * and its registry row; rows then go in with insert_feature() and the
 * layer becomes complete (geometry registered, spatial index, audit
 * triggers, counts) with finish_layer(). */
gboolean        dothi_store_create_layer   (DothiStore *self, const DothiLayerInfo *info, GError **error);
/* @wkb is ISO WKB of the layer's kind, SRID and dimension, already checked
 * by the caller; NULL for a feature without geometry. */
gboolean        dothi_store_insert_feature (DothiStore *self, const char *layer, const DothiValue *values,
                                            const guint8 *wkb, gsize wkb_len, GError **error);
gboolean        dothi_store_finish_layer   (DothiStore *self, const char *layer, GError **error);
/* Reads features in fid order; @bbox (minx, miny, maxx, maxy in the layer
 * CRS) may be NULL for all. */
gboolean        dothi_store_read_features  (DothiStore *self, const char *layer, const double *bbox,
                                            DothiFeatureFunc func, gpointer user_data,
                                            GCancellable *cancellable, GError **error);
char           *dothi_store_layer_checksum (DothiStore *self, const char *layer, GError **error);
/* Inside an action: writes the display part of @info's registry row
 * (title, z_order, visible, opacity, style). */
gboolean        dothi_store_update_layer   (DothiStore *self, const DothiLayerInfo *info, GError **error);
/* Up to @limit distinct non-null values of @field as text, sorted, among
 * the first @sample rows (0: all rows). */
GPtrArray      *dothi_store_distinct_values (DothiStore *self, const char *layer, const char *field,
                                             guint limit, guint sample, GError **error);
/* The default style of @info (dothi_style_new_default) from the distinct
 * values of each text field among the first 1 000 rows: enough to tell
 * a land-use or zoning field, and instant on a million rows. */
DothiStyle     *dothi_store_sample_default_style (DothiStore *self, const DothiLayerInfo *info);

G_END_DECLS

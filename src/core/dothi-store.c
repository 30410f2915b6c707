/* dothi-store.c: the DothiStore interface; each call forwards to the
 * implementation (SpatiaLite, later PostGIS). */
#define G_LOG_DOMAIN "dothi-store"

#include "dothi-store.h"

G_DEFINE_INTERFACE (DothiStore, dothi_store, G_TYPE_OBJECT)

static void
dothi_store_default_init (DothiStoreInterface *iface)
{
}

#define STORE_IFACE(self) DOTHI_STORE_GET_IFACE (self)

gboolean
dothi_store_begin (DothiStore *self, const char *action, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  return STORE_IFACE (self)->begin (self, action, error);
}

gboolean
dothi_store_commit (DothiStore *self, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  return STORE_IFACE (self)->commit (self, error);
}

void
dothi_store_rollback (DothiStore *self)
{
  g_return_if_fail (DOTHI_IS_STORE (self));
  STORE_IFACE (self)->rollback (self);
}

GPtrArray *
dothi_store_list_layers (DothiStore *self, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), NULL);
  return STORE_IFACE (self)->list_layers (self, error);
}

DothiLayerInfo *
dothi_store_get_layer (DothiStore *self, const char *name, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  return STORE_IFACE (self)->get_layer (self, name, error);
}

gboolean
dothi_store_has_table (DothiStore *self, const char *name)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  return STORE_IFACE (self)->has_table (self, name);
}

gboolean
dothi_store_create_layer (DothiStore *self, const DothiLayerInfo *info, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  g_return_val_if_fail (info != NULL, FALSE);
  return STORE_IFACE (self)->create_layer (self, info, error);
}

gboolean
dothi_store_insert_feature (DothiStore *self, const char *layer, const DothiValue *values,
                            const guint8 *wkb, gsize wkb_len, GError **error)
{
  return STORE_IFACE (self)->insert_feature (self, layer, values, wkb, wkb_len, error);
}

gboolean
dothi_store_finish_layer (DothiStore *self, const char *layer, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  return STORE_IFACE (self)->finish_layer (self, layer, error);
}

gboolean
dothi_store_read_features (DothiStore *self, const char *layer, const double *bbox,
                           DothiFeatureFunc func, gpointer user_data,
                           GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  return STORE_IFACE (self)->read_features (self, layer, bbox, func, user_data, cancellable, error);
}

char *
dothi_store_layer_checksum (DothiStore *self, const char *layer, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), NULL);
  return STORE_IFACE (self)->layer_checksum (self, layer, error);
}

gboolean
dothi_store_update_layer (DothiStore *self, const DothiLayerInfo *info, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), FALSE);
  g_return_val_if_fail (info != NULL, FALSE);
  return STORE_IFACE (self)->update_layer (self, info, error);
}

GPtrArray *
dothi_store_distinct_values (DothiStore *self, const char *layer, const char *field,
                             guint limit, guint sample, GError **error)
{
  g_return_val_if_fail (DOTHI_IS_STORE (self), NULL);
  return STORE_IFACE (self)->distinct_values (self, layer, field, limit, sample, error);
}

DothiStyle *
dothi_store_sample_default_style (DothiStore *self, const DothiLayerInfo *info)
{
  g_autoptr(GHashTable) values = NULL;

  g_return_val_if_fail (DOTHI_IS_STORE (self), NULL);
  g_return_val_if_fail (info != NULL, NULL);

  values = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < info->fields->len; i++)
    {
      DothiField *field = info->fields->pdata[i];
      GPtrArray *sample;

      if (field->type != DOTHI_FIELD_TEXT)
        continue;
      sample = dothi_store_distinct_values (self, info->name, field->name, 64, 1000, NULL);
      if (sample != NULL)
        g_hash_table_insert (values, field->name, sample);
    }
  return dothi_style_new_default (info, values);
}

package main

// The built-in resources: core/v1 namespaces, configmaps, secrets, serviceaccounts, resourcequotas,
// limitranges and networking.k8s.io/v1 networkpolicies, each a genericregistry.Store over etcd.

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// maxDataBytes is the size limit of a ConfigMap's or Secret's data (1 MiB, as in Kubernetes).
const maxDataBytes = 1 << 20

// kind describes one resource: its storage and how it differs from the default strategy.
type kind struct {
	gr         schema.GroupResource
	singular   string
	shortNames []string
	newObj     func() runtime.Object
	newList    func() runtime.Object
	strategy   *strategy
}

// shortNamed adds short names to a store's discovery entry.
type shortNamed struct {
	*genericregistry.Store
	short []string
}

func (s shortNamed) ShortNames() []string { return s.short }

// statusREST serves a /status (or /finalize) subresource through a copy of the main store.
type statusREST struct {
	store *genericregistry.Store
}

func (r *statusREST) New() runtime.Object { return r.store.New() }
func (r *statusREST) Destroy()            {}
func (r *statusREST) Get(ctx context.Context, name string, o *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, o)
}
func (r *statusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc,
	forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create: forceAllowCreate is false, as in Kubernetes.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}
func (r *statusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}
func (r *statusREST) ConvertToTable(ctx context.Context, obj, opts runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, obj, opts)
}

// newStore completes a store for a kind.
func newStore(k kind, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	store := &genericregistry.Store{
		NewFunc:                   k.newObj,
		NewListFunc:               k.newList,
		DefaultQualifiedResource:  k.gr,
		SingularQualifiedResource: schema.GroupResource{Group: k.gr.Group, Resource: k.singular},
		CreateStrategy:            k.strategy,
		UpdateStrategy:            k.strategy,
		DeleteStrategy:            k.strategy,
		ResetFieldsStrategy:       k.strategy,
		ReturnDeletedObject:       k.gr.Resource == "namespaces",
		TableConvertor:            rest.NewDefaultTableConvertor(k.gr),
	}
	return store, store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: opts})
}

// withStatus returns the REST of a subresource updating through strategy st.
func withStatus(store *genericregistry.Store, st *strategy) *statusREST {
	sub := *store
	sub.UpdateStrategy = st
	sub.ResetFieldsStrategy = st
	return &statusREST{store: &sub}
}

func path(p string) fieldpath.Path { return fieldpath.MakePathOrDie(p) }

// coreGroup returns the legacy group's APIGroupInfo (/api/v1).
func coreGroup(opts generic.RESTOptionsGetter) (*genericapiserver.APIGroupInfo, error) {
	info := genericapiserver.NewDefaultAPIGroupInfo("", Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	storage := map[string]rest.Storage{}
	plain := []kind{configMapKind(), secretKind(), serviceAccountKind(), limitRangeKind()}
	for _, k := range plain {
		s, err := newStore(k, opts)
		if err != nil {
			return nil, err
		}
		storage[k.gr.Resource] = shortNamed{s, k.shortNames}
	}
	quota := quotaKind()
	qs, err := newStore(quota, opts)
	if err != nil {
		return nil, err
	}
	storage["resourcequotas"] = shortNamed{qs, quota.shortNames}
	storage["resourcequotas/status"] = withStatus(qs, statusStrategy(true, "v1", specOf))
	if err := addNamespaces(storage, opts); err != nil {
		return nil, err
	}
	info.VersionedResourcesStorageMap["v1"] = storage
	return &info, nil
}

// networkingGroup returns networking.k8s.io's APIGroupInfo.
func networkingGroup(opts generic.RESTOptionsGetter) (*genericapiserver.APIGroupInfo, error) {
	info := genericapiserver.NewDefaultAPIGroupInfo(networkingv1.GroupName, Scheme, runtime.NewParameterCodec(Scheme), Codecs)
	k := kind{
		gr:         networkingv1.Resource("networkpolicies"),
		singular:   "networkpolicy",
		shortNames: []string{"netpol"},
		newObj:     func() runtime.Object { return &networkingv1.NetworkPolicy{} },
		newList:    func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
		strategy:   newStrategy(true, apivalidation.NameIsDNSSubdomain, "networking.k8s.io/v1"),
	}
	s, err := newStore(k, opts)
	if err != nil {
		return nil, err
	}
	info.VersionedResourcesStorageMap["v1"] = map[string]rest.Storage{"networkpolicies": shortNamed{s, k.shortNames}}
	return &info, nil
}

func configMapKind() kind {
	st := newStrategy(true, apivalidation.NameIsDNSSubdomain, "v1")
	st.validate = func(obj runtime.Object) field.ErrorList { return validateConfigMap(obj.(*corev1.ConfigMap)) }
	st.validateUpdate = func(obj, old runtime.Object) field.ErrorList {
		n, o := obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap)
		changed := !reflect.DeepEqual(n.Data, o.Data) || !reflect.DeepEqual(n.BinaryData, o.BinaryData)
		return append(immutableKept(o.Immutable, n.Immutable), immutableUnchanged(o.Immutable, changed)...)
	}
	return kind{gr: corev1.Resource("configmaps"), singular: "configmap", shortNames: []string{"cm"},
		newObj:   func() runtime.Object { return &corev1.ConfigMap{} },
		newList:  func() runtime.Object { return &corev1.ConfigMapList{} },
		strategy: st}
}

// validateConfigMap checks keys, their overlap between data and binaryData, and the total size.
func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	var keys []string
	size := 0
	var errs field.ErrorList
	for k, v := range cm.Data {
		keys = append(keys, k)
		size += len(k) + len(v)
	}
	errs = append(errs, keysValid(field.NewPath("data"), keys)...)
	keys = nil
	for k, v := range cm.BinaryData {
		keys = append(keys, k)
		size += len(k) + len(v)
		if _, dup := cm.Data[k]; dup {
			errs = append(errs, field.Invalid(field.NewPath("binaryData").Key(k), k, "duplicate of key present in data"))
		}
	}
	errs = append(errs, keysValid(field.NewPath("binaryData"), keys)...)
	if size > maxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath(""), "", maxDataBytes))
	}
	return errs
}

func secretKind() kind {
	st := newStrategy(true, apivalidation.NameIsDNSSubdomain, "v1")
	st.prepareCreate = func(obj runtime.Object) { mergeStringData(obj.(*corev1.Secret)) }
	st.prepareUpdate = func(obj, old runtime.Object) { mergeStringData(obj.(*corev1.Secret)) }
	st.validate = func(obj runtime.Object) field.ErrorList { return validateSecret(obj.(*corev1.Secret)) }
	st.validateUpdate = func(obj, old runtime.Object) field.ErrorList {
		n, o := obj.(*corev1.Secret), old.(*corev1.Secret)
		errs := immutableKept(o.Immutable, n.Immutable)
		errs = append(errs, immutableUnchanged(o.Immutable, !reflect.DeepEqual(n.Data, o.Data))...)
		if n.Type != o.Type {
			errs = append(errs, field.Invalid(field.NewPath("type"), n.Type, "field is immutable"))
		}
		return errs
	}
	return kind{gr: corev1.Resource("secrets"), singular: "secret",
		newObj:   func() runtime.Object { return &corev1.Secret{} },
		newList:  func() runtime.Object { return &corev1.SecretList{} },
		strategy: st}
}

// mergeStringData moves stringData into data, as Kubernetes' conversion to its internal type does.
func mergeStringData(s *corev1.Secret) {
	for k, v := range s.StringData {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

func validateSecret(s *corev1.Secret) field.ErrorList {
	var keys []string
	size := 0
	for k, v := range s.Data {
		keys = append(keys, k)
		size += len(v)
	}
	errs := keysValid(field.NewPath("data"), keys)
	if size > maxDataBytes {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", maxDataBytes))
	}
	return errs
}

// immutableKept refuses to clear `immutable` once it is set.
func immutableKept(old, cur *bool) field.ErrorList {
	if old != nil && *old && (cur == nil || !*cur) {
		return field.ErrorList{field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set")}
	}
	return nil
}

func serviceAccountKind() kind {
	return kind{gr: corev1.Resource("serviceaccounts"), singular: "serviceaccount", shortNames: []string{"sa"},
		newObj:   func() runtime.Object { return &corev1.ServiceAccount{} },
		newList:  func() runtime.Object { return &corev1.ServiceAccountList{} },
		strategy: newStrategy(true, apivalidation.NameIsDNSSubdomain, "v1")}
}

func limitRangeKind() kind {
	return kind{gr: corev1.Resource("limitranges"), singular: "limitrange", shortNames: []string{"limits"},
		newObj:   func() runtime.Object { return &corev1.LimitRange{} },
		newList:  func() runtime.Object { return &corev1.LimitRangeList{} },
		strategy: newStrategy(true, apivalidation.NameIsDNSSubdomain, "v1")}
}

func quotaKind() kind {
	st := newStrategy(true, apivalidation.NameIsDNSSubdomain, "v1")
	st.prepareCreate = func(obj runtime.Object) { obj.(*corev1.ResourceQuota).Status = corev1.ResourceQuotaStatus{} }
	st.prepareUpdate = func(obj, old runtime.Object) {
		obj.(*corev1.ResourceQuota).Status = old.(*corev1.ResourceQuota).Status
	}
	st.reset = []fieldpath.Path{path("status")}
	return kind{gr: corev1.Resource("resourcequotas"), singular: "resourcequota", shortNames: []string{"quota"},
		newObj:   func() runtime.Object { return &corev1.ResourceQuota{} },
		newList:  func() runtime.Object { return &corev1.ResourceQuotaList{} },
		strategy: st}
}

// specOf keeps the old object's spec in a /status update.
func specOf(obj, old runtime.Object) {
	switch n := obj.(type) {
	case *corev1.ResourceQuota:
		n.Spec = old.(*corev1.ResourceQuota).Spec
	case *corev1.Namespace:
		n.Spec = old.(*corev1.Namespace).Spec
	}
}

// statusStrategy returns the strategy of a /status subresource: only status changes, and the
// other fields are reset for server-side apply.
func statusStrategy(namespaced bool, version string, keep func(obj, old runtime.Object)) *strategy {
	st := newStrategy(namespaced, apivalidation.NameIsDNSSubdomain, version)
	st.prepareUpdate = keep
	st.reset = []fieldpath.Path{path("spec")}
	return st
}

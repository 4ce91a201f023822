package main

// The scheme of the built-in groups this server serves. k8s.io/kubernetes (the internal API types,
// their conversions and defaults) is not packaged by Debian, so each external v1 type is also
// registered as its group's internal (hub) version: the generic handlers' conversions between the
// two are then copies, and storage, apply and managedFields work on the v1 types themselves.

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
)

var (
	// Scheme holds core/v1 and networking.k8s.io/v1.
	Scheme = runtime.NewScheme()
	// Codecs serializes the objects of Scheme.
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	utilruntime.Must(corev1.AddToScheme(Scheme))
	utilruntime.Must(networkingv1.AddToScheme(Scheme))
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	internal := func(group string) schema.GroupVersion {
		return schema.GroupVersion{Group: group, Version: runtime.APIVersionInternal}
	}
	Scheme.AddKnownTypes(internal(""),
		&corev1.Namespace{}, &corev1.NamespaceList{},
		&corev1.ConfigMap{}, &corev1.ConfigMapList{},
		&corev1.Secret{}, &corev1.SecretList{},
		&corev1.ServiceAccount{}, &corev1.ServiceAccountList{},
		&corev1.ResourceQuota{}, &corev1.ResourceQuotaList{},
		&corev1.LimitRange{}, &corev1.LimitRangeList{})
	Scheme.AddKnownTypes(internal(networkingv1.GroupName),
		&networkingv1.NetworkPolicy{}, &networkingv1.NetworkPolicyList{})
	utilruntime.Must(Scheme.SetVersionPriority(corev1.SchemeGroupVersion))
	utilruntime.Must(Scheme.SetVersionPriority(networkingv1.SchemeGroupVersion))
	addDefaults(Scheme)
}

// addDefaults registers the defaults Kubernetes applies to these types when it decodes them
// (the subset of k8s.io/kubernetes/pkg/apis/{core,networking}/v1 defaults that concerns them).
func addDefaults(s *runtime.Scheme) {
	s.AddTypeDefaultingFunc(&corev1.Secret{}, func(o interface{}) { defaultSecret(o.(*corev1.Secret)) })
	s.AddTypeDefaultingFunc(&corev1.LimitRange{}, func(o interface{}) { defaultLimitRange(o.(*corev1.LimitRange)) })
	s.AddTypeDefaultingFunc(&networkingv1.NetworkPolicy{}, func(o interface{}) {
		defaultNetworkPolicy(o.(*networkingv1.NetworkPolicy))
	})
	s.AddTypeDefaultingFunc(&corev1.Namespace{}, func(o interface{}) { defaultNamespace(o.(*corev1.Namespace)) })
}

func defaultSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
}

// defaultLimitRange fills a container item's default limit from its max, and its default request
// from its default limit, then from its min.
func defaultLimitRange(l *corev1.LimitRange) {
	for i := range l.Spec.Limits {
		item := &l.Spec.Limits[i]
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		item.Default = fillMissing(item.Default, item.Max)
		item.DefaultRequest = fillMissing(item.DefaultRequest, item.Default)
		item.DefaultRequest = fillMissing(item.DefaultRequest, item.Min)
	}
}

// fillMissing returns dst with every key of src it lacks (nil when both are empty).
func fillMissing(dst, src corev1.ResourceList) corev1.ResourceList {
	for k, v := range src {
		if dst == nil {
			dst = corev1.ResourceList{}
		}
		if _, ok := dst[k]; !ok {
			dst[k] = v.DeepCopy()
		}
	}
	return dst
}

// defaultNetworkPolicy sets policyTypes (Ingress, plus Egress when egress rules exist) and the TCP
// protocol of ports that name none.
func defaultNetworkPolicy(p *networkingv1.NetworkPolicy) {
	tcp := corev1.ProtocolTCP
	for i := range p.Spec.Ingress {
		for j := range p.Spec.Ingress[i].Ports {
			if p.Spec.Ingress[i].Ports[j].Protocol == nil {
				p.Spec.Ingress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	for i := range p.Spec.Egress {
		for j := range p.Spec.Egress[i].Ports {
			if p.Spec.Egress[i].Ports[j].Protocol == nil {
				p.Spec.Egress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	if len(p.Spec.PolicyTypes) > 0 {
		return
	}
	p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
}

// defaultNamespace labels a namespace with its own name, as every namespace is since Kubernetes 1.21.
func defaultNamespace(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

{{/*
NetworkPolicies: every pod of the release denies all traffic by default; the queue takes
connections on its port only from streamers and collectors (and metricsFrom); streamers may
reach the queue and DNS; collectors the queue, MongoDB and DNS; with the redis backend the
queue and streamers may reach Redis too.
*/}}
{{- define "gpu-telemetry.dnsEgress" -}}
- to:
    {{- toYaml .Values.networkPolicy.dns.to | nindent 4 }}
  ports:
    - {protocol: UDP, port: {{ .Values.networkPolicy.dns.port }}}
    - {protocol: TCP, port: {{ .Values.networkPolicy.dns.port }}}
{{- end }}

{{- define "gpu-telemetry.queueEgress" -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "gpu-telemetry.selector" (dict "root" . "component" "queue") | nindent 10 }}
  ports:
    - {protocol: TCP, port: {{ .Values.queue.port }}}
{{- end }}

{{- define "gpu-telemetry.redisEgress" -}}
{{- if eq .Values.queue.backend "redis" -}}
- ports:
    - {protocol: TCP, port: {{ .Values.redis.port }}}
  {{- with .Values.redis.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{- define "gpu-telemetry.networkPolicies" -}}
{{- if .Values.networkPolicy.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-default-deny
  labels:
    {{- include "gpu-telemetry.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ include "gpu-telemetry.name" . }}
      app.kubernetes.io/instance: {{ .Release.Name | quote }}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-queue
  labels:
    {{- include "gpu-telemetry.componentLabels" (dict "root" . "component" "queue") | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gpu-telemetry.selector" (dict "root" . "component" "queue") | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        {{- range list "streamer" "collector" }}
        - podSelector:
            matchLabels:
              {{- include "gpu-telemetry.selector" (dict "root" $ "component" .) | nindent 14 }}
        {{- end }}
        {{- with .Values.networkPolicy.metricsFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - {protocol: TCP, port: {{ .Values.queue.port }}}
  egress:
    {{- include "gpu-telemetry.dnsEgress" . | nindent 4 }}
    {{- if eq .Values.queue.backend "redis" }}
    {{- include "gpu-telemetry.redisEgress" . | nindent 4 }}
    {{- end }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-streamer
  labels:
    {{- include "gpu-telemetry.componentLabels" (dict "root" . "component" "streamer") | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gpu-telemetry.selector" (dict "root" . "component" "streamer") | nindent 6 }}
  policyTypes: [Ingress, Egress]
  egress:
    {{- include "gpu-telemetry.queueEgress" . | nindent 4 }}
    {{- include "gpu-telemetry.dnsEgress" . | nindent 4 }}
    {{- if eq .Values.queue.backend "redis" }}
    {{- include "gpu-telemetry.redisEgress" . | nindent 4 }}
    {{- end }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ .Release.Name }}-collector
  labels:
    {{- include "gpu-telemetry.componentLabels" (dict "root" . "component" "collector") | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "gpu-telemetry.selector" (dict "root" . "component" "collector") | nindent 6 }}
  policyTypes: [Ingress, Egress]
  egress:
    {{- include "gpu-telemetry.queueEgress" . | nindent 4 }}
    {{- include "gpu-telemetry.dnsEgress" . | nindent 4 }}
    - ports:
        - {protocol: TCP, port: {{ .Values.mongodb.port }}}
      {{- with .Values.mongodb.to }}
      to:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}

{{/*
PodDisruptionBudgets: at most maxUnavailable pods of each component evicted at once. A single
queue replica gets none: a budget that allows no eviction would block every node drain, and
one that allows it protects nothing.
*/}}
{{- define "gpu-telemetry.pdbs" -}}
{{- if .Values.podDisruptionBudget.enabled -}}
{{- $components := list "streamer" "collector" -}}
{{- if gt (int .Values.queue.replicas) 1 }}{{ $components = prepend $components "queue" }}{{ end -}}
{{- range $i, $component := $components }}
{{- if $i }}
---
{{- end }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $.Release.Name }}-{{ $component }}
  labels:
    {{- include "gpu-telemetry.componentLabels" (dict "root" $ "component" $component) | nindent 4 }}
spec:
  maxUnavailable: {{ $.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "gpu-telemetry.selector" (dict "root" $ "component" $component) | nindent 6 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Prometheus Operator's ServiceMonitor for the queue, only where its CRD is served. */}}
{{- define "gpu-telemetry.serviceMonitor" -}}
{{- if and .Values.serviceMonitor.enabled (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "gpu-telemetry.queueName" . }}
  labels:
    {{- include "gpu-telemetry.componentLabels" (dict "root" . "component" "queue") | nindent 4 }}
    {{- with .Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "gpu-telemetry.selector" (dict "root" . "component" "queue") | nindent 6 }}
  endpoints:
    - port: http
      path: {{ .Values.serviceMonitor.path | quote }}
      interval: {{ .Values.serviceMonitor.interval | quote }}
      scheme: {{ ternary "https" "http" .Values.tls.enabled }}
      {{- if .Values.tls.enabled }}
      tlsConfig:
        serverName: {{ include "gpu-telemetry.queueName" . }}.{{ .Release.Namespace }}.svc
      {{- end }}
{{- end }}
{{- end }}

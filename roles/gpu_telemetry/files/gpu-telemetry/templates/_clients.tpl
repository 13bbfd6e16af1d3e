{{/* Streamers: read the DCGM CSV from the ConfigMap and publish it to the queue. */}}
{{- define "gpu-telemetry.streamer" -}}
{{- $c := dict "root" . "component" "streamer" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-streamer
  labels:
    {{- include "gpu-telemetry.componentLabels" $c | nindent 4 }}
spec:
  replicas: {{ include "gpu-telemetry.clientReplicas" (dict "root" . "replicas" .Values.streamer.replicas) }}
  selector:
    matchLabels:
      {{- include "gpu-telemetry.selector" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "gpu-telemetry.componentLabels" $c | nindent 8 }}
      annotations:
        {{- include "gpu-telemetry.podAnnotations" . | nindent 8 }}
        gpufleet.io/csv-checksum: {{ .Values.streamer.csvChecksum | toString | quote }}
    spec:
      {{- include "gpu-telemetry.scheduling" . | nindent 6 }}
      containers:
        - name: streamer
          image: {{ required "streamer.image: name the streamer image with its registry and a version tag or digest" .Values.streamer.image | quote }}
          imagePullPolicy: {{ .Values.streamer.imagePullPolicy }}
          {{- include "gpu-telemetry.containerSecurity" . | nindent 10 }}
          env:
            - name: QUEUE_SERVICE_URL
              value: {{ include "gpu-telemetry.queueURL" . | quote }}
            - name: CSV_PATH
              value: {{ printf "/data/%s" .Values.streamer.csvKey | quote }}
            - name: STREAM_INTERVAL
              value: {{ .Values.streamer.streamInterval | quote }}
            - name: LOOP_MODE
              value: {{ .Values.streamer.loopMode | toString | quote }}
            - name: INSTANCE_ID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- with include "gpu-telemetry.redisEnv" . }}{{ . | nindent 12 }}{{ end }}
            {{- with include "gpu-telemetry.clientTLSEnv" . }}{{ . | nindent 12 }}{{ end }}
          resources:
            {{- toYaml .Values.streamer.resources | nindent 12 }}
          volumeMounts:
            - name: csv
              mountPath: /data
              readOnly: true
            {{- include "gpu-telemetry.tmpMount" . | nindent 12 }}
            {{- with include "gpu-telemetry.clientTLSMount" . }}{{ . | nindent 12 }}{{ end }}
      volumes:
        {{- include "gpu-telemetry.tmpVolume" . | nindent 8 }}
        - name: csv
          configMap:
            name: {{ .Values.streamer.csvConfigMap | quote }}
            items:
              - key: {{ .Values.streamer.csvKey | quote }}
                path: {{ .Values.streamer.csvKey | quote }}
        {{- with include "gpu-telemetry.clientTLSVolume" . }}{{ . | nindent 8 }}{{ end }}
{{- end }}

{{/* Collectors: consume from the queue and write to MongoDB. */}}
{{- define "gpu-telemetry.collector" -}}
{{- $c := dict "root" . "component" "collector" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-collector
  labels:
    {{- include "gpu-telemetry.componentLabels" $c | nindent 4 }}
spec:
  {{- if or .Values.queueOnly (not .Values.collector.autoscaling.enabled) }}
  replicas: {{ include "gpu-telemetry.clientReplicas" (dict "root" . "replicas" .Values.collector.replicas) }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "gpu-telemetry.selector" $c | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "gpu-telemetry.componentLabels" $c | nindent 8 }}
      annotations:
        {{- include "gpu-telemetry.podAnnotations" . | nindent 8 }}
    spec:
      {{- include "gpu-telemetry.scheduling" . | nindent 6 }}
      containers:
        - name: collector
          image: {{ required "collector.image: name the collector image with its registry and a version tag or digest" .Values.collector.image | quote }}
          imagePullPolicy: {{ .Values.collector.imagePullPolicy }}
          {{- include "gpu-telemetry.containerSecurity" . | nindent 10 }}
          env:
            - name: QUEUE_SERVICE_URL
              value: {{ include "gpu-telemetry.queueURL" . | quote }}
            - name: BATCH_SIZE
              value: {{ .Values.collector.batchSize | toString | quote }}
            - name: MAX_CONCURRENT_HANDLERS
              value: {{ .Values.collector.maxConcurrentHandlers | toString | quote }}
            - name: MONGODB_URI
              valueFrom:
                secretKeyRef:
                  name: {{ .Values.credentials.secretName | quote }}
                  key: {{ .Values.credentials.mongodbUriKey | quote }}
            - name: INSTANCE_ID
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- with include "gpu-telemetry.clientTLSEnv" . }}{{ . | nindent 12 }}{{ end }}
          resources:
            {{- toYaml .Values.collector.resources | nindent 12 }}
          volumeMounts:
            {{- include "gpu-telemetry.tmpMount" . | nindent 12 }}
            {{- with include "gpu-telemetry.clientTLSMount" . }}{{ . | nindent 12 }}{{ end }}
      volumes:
        {{- include "gpu-telemetry.tmpVolume" . | nindent 8 }}
        {{- with include "gpu-telemetry.clientTLSVolume" . }}{{ . | nindent 8 }}{{ end }}
{{- end }}

{{/* The collectors' autoscaler (autoscaling/v2, CPU utilisation). */}}
{{- define "gpu-telemetry.collectorHPA" -}}
{{- if and .Values.collector.autoscaling.enabled (not .Values.queueOnly) -}}
{{- $c := dict "root" . "component" "collector" -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}-collector
  labels:
    {{- include "gpu-telemetry.componentLabels" $c | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .Release.Name }}-collector
  minReplicas: {{ .Values.collector.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.collector.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.collector.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end }}

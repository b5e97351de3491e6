"""Building use classes, mapped from OSM ``building=*`` values."""

from __future__ import annotations

from spatial.codelists.base import CodeList

USE = CodeList(
    name="building.use",
    title="建筑用途",
    labels_zh={
        "residential": "居住", "commercial": "商业", "office": "办公", "industrial": "工业",
        "public": "公共服务", "education": "教育", "health": "医疗", "transport": "交通",
        "religious": "宗教", "utility": "市政设施", "agricultural": "农业", "other": "其他",
    },
    labels_en={
        "residential": "Residential", "commercial": "Commercial", "office": "Office",
        "industrial": "Industrial", "public": "Public services", "education": "Education",
        "health": "Health", "transport": "Transport", "religious": "Religious",
        "utility": "Utility", "agricultural": "Agricultural", "other": "Other / unknown",
    },
    source="One Map building use classes (from OSM building=*)",
)

OSM_BUILDING_TO_USE = {
    "residential": "residential", "apartments": "residential", "house": "residential",
    "dormitory": "residential", "detached": "residential", "terrace": "residential",
    "commercial": "commercial", "retail": "commercial", "supermarket": "commercial", "hotel": "commercial",
    "office": "office", "industrial": "industrial", "warehouse": "industrial", "factory": "industrial",
    "manufacture": "industrial", "public": "public", "government": "public", "civic": "public",
    "school": "education", "university": "education", "college": "education", "kindergarten": "education",
    "hospital": "health", "train_station": "transport", "transportation": "transport",
    "hangar": "transport", "parking": "transport", "temple": "religious", "church": "religious",
    "mosque": "religious", "service": "utility", "transformer_tower": "utility", "farm": "agricultural",
    "greenhouse": "agricultural", "farm_auxiliary": "agricultural",
}
